// Gradient-mode control. Grad mode is per thread in libtorch, so each worker has its own.
import { nt } from "./tensor.js";

/** Runs `fn` with gradient recording off (inference, optimizer updates, reference log-probs). */
export function noGrad<T>(fn: () => T): T {
  const previous = nt().isGradEnabled();
  nt().setGradEnabled(false);
  try {
    return fn();
  } finally {
    nt().setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  return nt().isGradEnabled();
}
