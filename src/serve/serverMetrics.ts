// The /metrics exposition (Prometheus text format): traffic, tokens, latency, queue depth and guard decisions.
// Each server has its own registry, so two servers in one process (tests) do not share counts.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "safetune_requests_total",
    help: "HTTP requests by route and status code",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "safetune_request_duration_seconds",
    help: "Time from request to the end of the response, by route",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: "safetune_time_to_first_token_seconds",
    help: "Time from request to the first generated text (queueing included)",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: "safetune_queue_wait_seconds",
    help: "Time a generation waited for the worker",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: "safetune_prompt_tokens_total",
    help: "Prompt tokens of served generations",
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: "safetune_completion_tokens_total",
    help: "Generated tokens",
    registers: [this.registry],
  });
  readonly batchRows = new Histogram({
    name: "safetune_batch_rows",
    help: "Rows decoded together in the batch a generation joined",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  readonly guardDecisions = new Counter({
    name: "safetune_guard_decisions_total",
    help: "Guard decisions by stage (input, output), action (allow, refuse, flag) and category",
    labelNames: ["stage", "action", "category"] as const,
    registers: [this.registry],
  });
  readonly guardErrors = new Counter({
    name: "safetune_guard_errors_total",
    help: "Guard checks whose judge failed (decided by the fail-open or fail-closed rule)",
    labelNames: ["stage"] as const,
    registers: [this.registry],
  });

  constructor(live: {
    queueDepth: () => number;
    running: () => number;
    cancelled: () => { generations: number; tokens: number };
  }) {
    this.#sampled("safetune_queue_depth", "Generations waiting for the worker", live.queueDepth);
    this.#sampled("safetune_generations_running", "Generations decoding now", live.running);
    this.#sampled(
      "safetune_generations_cancelled",
      "Generations stopped in the worker before finishing (client gone, timeout, guard refusal)",
      () => live.cancelled().generations,
    );
    this.#sampled(
      "safetune_cancelled_completion_tokens",
      "Tokens those cancelled generations had produced when they stopped",
      () => live.cancelled().tokens,
    );
  }

  /** A gauge read from the server's state when /metrics is scraped. */
  #sampled(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
