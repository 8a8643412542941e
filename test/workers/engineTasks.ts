// Deterministic engine workloads run both on the main thread and inside workers (test/worker.test.ts).
// No randomness: libtorch's default CPU generator is shared by every thread of the process.
import { AdamW, arange, isGradEnabled, noGrad, tensor, tidy } from "../../src/engine/index.js";

/** A fixed 2-D and batched matmul plus a larger product, as plain numbers. */
export function matmulTask(): { small: number[]; batched: number[]; checksum: number } {
  return tidy(() => {
    const a = arange(0, 12, 1, { dtype: "float32" }).reshape(3, 4).div(10);
    const b = arange(0, 8, 1, { dtype: "float32" }).reshape(4, 2).sub(3);
    const small = a.matmul(b).toArray();
    const batched = arange(0, 24, 1, { dtype: "float32" }).reshape(2, 3, 4).matmul(b).toArray();
    // a bigger product that keeps the thread busy for a while: x (128 x 128) multiplied 20 times
    const n = 128;
    const x = arange(0, n * n, 1, { dtype: "float32" })
      .reshape(n, n)
      .div(n * n)
      .sin();
    let y = x;
    for (let i = 0; i < 20; i++) y = y.matmul(x).div(n);
    return { small, batched, checksum: y.sum().item() };
  });
}

/**
 * `steps` AdamW steps of a linear model y = x·w + b on fixed data; returns every loss and the final weights.
 * The target is w* = [1, -2, 0.5], b* = 0.3.
 */
export function trainTask(steps: number): { losses: number[]; weights: number[]; bias: number[] } {
  return tidy(() => {
    const x = arange(0, 48, 1, { dtype: "float32" }).reshape(16, 3).div(16).cos();
    const target = x.matmul(tensor([[1], [-2], [0.5]])).add(0.3);
    const w = tensor([[0.1], [0.2], [-0.1]]).requiresGrad_();
    const b = tensor([0]).requiresGrad_();
    const opt = new AdamW([w, b], { lr: 0.05, weightDecay: 0.01 });
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      losses.push(
        tidy(() => {
          const loss = x.matmul(w).add(b).sub(target).square().mean();
          loss.backward();
          opt.step();
          opt.zeroGrad();
          return loss.item();
        }),
      );
    }
    const result = { losses, weights: w.toArray(), bias: b.toArray() };
    opt.dispose();
    return result;
  });
}

/** Whether this thread records graphs right now, as seen by the flag and by an actual op. */
export interface GradProbe {
  enabled: boolean;
  recorded: boolean;
}

export function gradProbe(): GradProbe {
  return tidy(() => ({
    enabled: isGradEnabled(),
    recorded: tensor([1]).requiresGrad_().mul(2).requiresGrad,
  }));
}

/**
 * Inside noGrad: signals flags[0] = 1, then blocks until another thread sets flags[1] = 1, so the others can
 * look at their own grad mode while this thread's is off.
 */
export function holdNoGrad(
  flags: Int32Array,
  timeoutMs: number,
): { before: GradProbe; afterOthers: GradProbe; restored: boolean } {
  const [before, afterOthers] = noGrad(() => {
    const first = gradProbe();
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    if (Atomics.wait(flags, 1, 0, timeoutMs) === "timed-out") throw new Error("holdNoGrad: never released");
    return [first, gradProbe()] as const;
  });
  return { before, afterOthers, restored: isGradEnabled() };
}
