// Operations over several tensors, and the neural-network primitives models are built from.
import { nt, Tensor, type TensorOrNumber } from "./tensor.js";

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(
    nt().cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(
    nt().stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** Elementwise `condition ? a : b`. */
export function where(condition: Tensor, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const h = (v: TensorOrNumber) => (typeof v === "number" ? v : v.handle);
  return new Tensor(nt().where(condition.handle, h(a), h(b)));
}
/** x @ weightᵀ + bias, with weight stored [out, in] as torch.nn.Linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(nt().linear(x.handle, weight.handle, bias?.handle));
}
/** bias + a @ b (GPT-2's Conv1D stores its weight [in, out]). */
export function addmm(bias: Tensor, a: Tensor, b: Tensor): Tensor {
  return new Tensor(nt().addmm(bias.handle, a.handle, b.handle));
}
export function layerNorm(
  x: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
): Tensor {
  const last = x.shape[x.rank - 1] ?? 0;
  return new Tensor(nt().layerNorm(x.handle, [last], weight?.handle, bias?.handle, eps));
}
/** Rows of `weight` picked by integer `ids`. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return new Tensor(nt().embedding(weight.handle, ids.handle));
}

export type Reduction = "none" | "mean" | "sum";
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

/** Cross-entropy of logits [N, C] against class ids [N]; targets equal to ignoreIndex add nothing. */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: { ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number } = {},
): Tensor {
  const { ignoreIndex = -100, reduction = "mean", labelSmoothing = 0 } = options;
  return new Tensor(
    nt().crossEntropy(logits.handle, target.handle, ignoreIndex, REDUCTION[reduction], labelSmoothing),
  );
}
