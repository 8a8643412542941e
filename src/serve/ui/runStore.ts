// Run files read once and kept while unchanged: a dashboard asks for the same run's samples page after page,
// and re-parsing a samples.jsonl of thousands of lines for each would be most of the work.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { EvalResults, SampleRecord } from "../../eval/results.js";
import { readResults, readSamples } from "../../eval/runFiles.js";

interface Entry<T> {
  stamp: string;
  value: T;
}

/** A small least-recently-used map of values read from files, valid while the file's size and mtime hold. */
class FileCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(file: string, read: () => T): T {
    let info: ReturnType<typeof statSync>;
    try {
      info = statSync(file);
    } catch {
      return read(); // a missing file: the reader's own error says which and why
    }
    const stamp = `${info.size}:${info.mtimeMs}`;
    const hit = this.#entries.get(file);
    this.#entries.delete(file);
    const entry = hit && hit.stamp === stamp ? hit : { stamp, value: read() };
    this.#entries.set(file, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
    }
    return entry.value;
  }
}

/** Reads run folders through caches; results are small (many kept), samples can be large (a few kept). */
export class RunStore {
  readonly #results = new FileCache<EvalResults>(256);
  readonly #samples = new FileCache<SampleRecord[]>(8);
  readonly #charts = new FileCache<Map<string, Promise<string | undefined>>>(64);

  results(dir: string): EvalResults {
    return this.#results.get(join(dir, "results.json"), () => readResults(dir));
  }

  samples(dir: string): SampleRecord[] {
    return this.#samples.get(join(dir, "samples.jsonl"), () => readSamples(dir));
  }

  /** A chart of a run, rendered once per version of its results.json. */
  chart(dir: string, name: string, render: () => Promise<string | undefined>): Promise<string | undefined> {
    const charts = this.#charts.get(join(dir, "results.json"), () => new Map());
    let svg = charts.get(name);
    if (!svg) {
      svg = render();
      charts.set(name, svg);
      // A failed render is not kept, so the next request tries again.
      svg.catch(() => charts.delete(name));
    }
    return svg;
  }
}
