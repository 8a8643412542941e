// The threads a stage computes with. Intra-op threads are the pipeline's `threads` (one by default), so that a
// stage's digits do not depend on --jobs. BLAS's own pool keeps the machine's cores: OpenBLAS splits a product's
// rows and columns among its threads, never the sums, so this changes how long a matmul takes, not its digits, and
// a stage running alone (the demo's base pretraining, its critical path) uses the cores the other job slots leave
// idle. Measured on the 2-core demo machine: the demo's table was identical with one BLAS thread a stage and with
// two, and one BLAS thread made it take 14 min 42 s instead of 11 min (docs/pipelines.md).
import { availableParallelism } from "node:os";
import { setNumThreads } from "../engine/runtime.js";

export function setStageThreads(threads: number): void {
  setNumThreads(threads, { blasThreads: Math.max(threads, availableParallelism()) });
}
