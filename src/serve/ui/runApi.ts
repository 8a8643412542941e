// The dashboard's JSON API over a folder of evaluation runs: the runs, one run's report and samples, its judges'
// agreement and disagreements per benchmark, its charts as SVG, and comparisons of several runs. Every run id
// goes through resolveRun before any file is read.
import { type Context, Hono } from "hono";
import { DEFAULT_DISAGREEMENT_LIMIT } from "../../eval/metrics/judgeDisagreements.js";
import { attackChart, attackRunsChart } from "../../eval/report/attackReport.js";
import { benchmarkChart, categoryChart, safetyHelpfulnessChart } from "../../eval/report/charts.js";
import { agreementView } from "./agreementView.js";
import { compareManyRuns, type LoadedRun } from "./runComparison.js";
import { findRuns, type RunLocation, resolveRun } from "./runIndex.js";
import { RunStore } from "./runStore.js";
import { runReport, runSummary } from "./runViews.js";
import { querySamples, type SampleFilter } from "./sampleQuery.js";

/** More runs than this in one comparison is no longer side by side. */
export const MAX_COMPARED_RUNS = 8;
/** The most disagreements listed per benchmark in one answer (the samples view pages through the rest). */
export const MAX_DISAGREEMENT_LIMIT = 500;

export interface RunApiOptions {
  runsDir?: string;
  playground: boolean;
  title?: string;
}

class HttpProblem extends Error {
  constructor(
    readonly status: 400 | 404 | 500,
    message: string,
  ) {
    super(message);
  }
}

function problem(c: Context, err: unknown): Response {
  const status = err instanceof HttpProblem ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  return c.json({ error: { message } }, status);
}

function svg(c: Context, body: string | undefined, what: string): Response {
  if (body === undefined) return problem(c, new HttpProblem(404, `no ${what} for this run`));
  return c.body(body, 200, { "content-type": "image/svg+xml; charset=utf-8", "cache-control": "no-cache" });
}

/** The :id of a run route ("" cannot match a run, so it ends as a 400). */
function runId(c: Context): string {
  return c.req.param("id") ?? "";
}

/** A query number within bounds, or a 400 naming the parameter. */
function queryInteger(c: Context, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new HttpProblem(400, `${name}: expected a non-negative integer`);
  return n;
}

export function runApi(options: RunApiOptions): Hono {
  const app = new Hono();
  const store = new RunStore();
  const runsDir = options.runsDir;

  const locate = (id: string): RunLocation => {
    if (runsDir === undefined) throw new HttpProblem(404, "this server was started without a runs folder");
    const found = resolveRun(runsDir, id);
    if (!found.ok) throw new HttpProblem(found.status, found.message);
    return found.location;
  };
  const load = (id: string): LoadedRun => {
    const { dir } = locate(id);
    return { id, results: store.results(dir), samples: store.samples(dir) };
  };
  const comparedIds = (c: Context): string[] => {
    const ids = c.req.queries("run") ?? [];
    if (ids.length < 2 || ids.length > MAX_COMPARED_RUNS)
      throw new HttpProblem(400, `name 2 to ${MAX_COMPARED_RUNS} runs to compare (run=ID&run=ID...)`);
    return ids;
  };
  /** Route handlers throw HttpProblem; this turns any throw into a JSON error. */
  const handle =
    (fn: (c: Context) => Response | Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      try {
        return await fn(c);
      } catch (err) {
        return problem(c, err);
      }
    };

  app.get("/api/info", (c) =>
    c.json({
      title: options.title ?? "safetune",
      playground: options.playground,
      runsDir: runsDir !== undefined,
    }),
  );

  app.get(
    "/api/runs",
    handle((c) => {
      const runs = runsDir === undefined ? [] : findRuns(runsDir);
      const listed = runs.map(({ id, dir }) => {
        try {
          return runSummary(id, store.results(dir));
        } catch (err) {
          // One unreadable run must not hide the others: it is listed with its problem.
          return { id, error: (err as Error).message };
        }
      });
      return c.json({ runs: listed });
    }),
  );

  app.get(
    "/api/runs/:id",
    handle((c) => {
      const id = runId(c);
      return c.json(runReport(id, store.results(locate(id).dir)));
    }),
  );

  app.get(
    "/api/runs/:id/samples",
    handle((c) => {
      const { results, samples } = load(runId(c));
      const filter: SampleFilter = {};
      for (const key of ["benchmark", "category", "judge", "verdict", "text"] as const) {
        const value = c.req.query(key);
        if (value) filter[key] = value;
      }
      const offset = queryInteger(c, "offset");
      const limit = queryInteger(c, "limit");
      if (offset !== undefined) filter.offset = offset;
      if (limit !== undefined) filter.limit = limit;
      const context = {
        judges: results.judges.map((j) => j.name),
        kinds: new Map(results.benchmarks.map((b) => [b.name, b.kind])),
      };
      return c.json(querySamples(samples, context, filter));
    }),
  );

  app.get(
    "/api/runs/:id/agreement",
    handle((c) => {
      const { results, samples } = load(runId(c));
      const limit = queryInteger(c, "limit") ?? DEFAULT_DISAGREEMENT_LIMIT;
      if (limit > MAX_DISAGREEMENT_LIMIT)
        throw new HttpProblem(400, `limit: expected at most ${MAX_DISAGREEMENT_LIMIT}`);
      return c.json(agreementView(results, samples, limit));
    }),
  );

  app.get(
    "/api/runs/:id/charts/benchmarks.svg",
    handle(async (c) => {
      const { dir } = locate(runId(c));
      const results = store.results(dir);
      return svg(c, await store.chart(dir, "benchmarks", () => benchmarkChart(results)), "benchmark chart");
    }),
  );

  app.get(
    "/api/runs/:id/charts/category.svg",
    handle(async (c) => {
      const { dir } = locate(runId(c));
      const benchmark = c.req.query("benchmark") ?? "";
      const results = store.results(dir);
      const chart = await store.chart(dir, `category\u0000${benchmark}`, () =>
        categoryChart(results, benchmark),
      );
      return svg(c, chart, `category chart of ${JSON.stringify(benchmark)}`);
    }),
  );

  app.get(
    "/api/runs/:id/charts/attacks.svg",
    handle(async (c) => {
      const { dir } = locate(runId(c));
      const results = store.results(dir);
      return svg(c, await store.chart(dir, "attacks", () => attackChart(results)), "attack chart");
    }),
  );

  app.get(
    "/api/compare",
    handle((c) => c.json(compareManyRuns(comparedIds(c).map(load)))),
  );

  app.get(
    "/api/compare/safety-helpfulness.svg",
    handle(async (c) => {
      const runs = comparedIds(c).map((id) => store.results(locate(id).dir));
      return svg(c, await safetyHelpfulnessChart(runs), "safety-vs-helpfulness chart");
    }),
  );

  app.get(
    "/api/compare/attacks.svg",
    handle(async (c) => {
      const runs = comparedIds(c).map((id) => store.results(locate(id).dir));
      return svg(c, await attackRunsChart(runs), "attack chart of the compared runs");
    }),
  );

  app.all("/api/*", (c) =>
    problem(c, new HttpProblem(404, `no such API route: ${c.req.method} ${c.req.path}`)),
  );
  return app;
}
