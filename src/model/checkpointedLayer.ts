// One transformer layer under gradient checkpointing: what it reads from the pass (hidden states, masks, rotary
// tables) goes in as inputs, so the recomputation in the backward pass gets live handles of them; the trainable
// weights it uses go in as params, so they receive their gradients.
import { checkpoint, type Tensor } from "../engine/index.js";
import type { LayerContext } from "./transformer.js";

/** The per-pass tensors of a layer context, in a fixed order (absent ones left out). */
function contextTensors(ctx: LayerContext): Tensor[] {
  return [ctx.blocked, ctx.positions, ctx.rotary?.cos, ctx.rotary?.sin].filter(
    (t): t is Tensor => t !== undefined,
  );
}

/** `ctx` with its tensors replaced, in contextTensors' order, by `tensors`. */
function contextWith(ctx: LayerContext, tensors: Tensor[]): LayerContext {
  let next = 0;
  const take = (t: Tensor | undefined) => (t === undefined ? undefined : (tensors[next++] as Tensor));
  const blocked = take(ctx.blocked);
  const positions = take(ctx.positions);
  const cos = take(ctx.rotary?.cos);
  const sin = take(ctx.rotary?.sin);
  return { ...ctx, blocked, positions, ...(cos && sin ? { rotary: { cos, sin } } : {}) };
}

const LAYER_INDEX = /(?:^|\.)(?:layers|h)\.(\d+)\./;

/** Tensors that require gradients, grouped by the transformer block their name places them in. */
export function trainablesByLayer(named: Iterable<[string, Tensor]>, layers: number): Tensor[][] {
  const out: Tensor[][] = Array.from({ length: layers }, () => []);
  for (const [name, t] of named) {
    const m = LAYER_INDEX.exec(name);
    if (m && t.requiresGrad) out[Number(m[1])]?.push(t);
  }
  return out;
}

/** `block(h, ctx)` for one layer, recomputed in the backward pass instead of keeping its activations. */
export function checkpointedLayer(
  block: (h: Tensor, ctx: LayerContext) => Tensor,
  h: Tensor,
  ctx: LayerContext,
  params: Tensor[],
): Tensor {
  return checkpoint(
    ([input, ...rest]) => block(input as Tensor, contextWith(ctx, rest)),
    [h, ...contextTensors(ctx)],
    params,
  );
}
