// Gradient checkpointing (the reentrant kind of torch.utils.checkpoint): a function of tensors run without
// keeping its activations, and run again during the backward pass for its gradients (native/src/checkpoint.cc).
import { isGradEnabled } from "./autograd.js";
import { tidy } from "./scope.js";
import { nt, Tensor } from "./tensor.js";

type Piece = (inputs: Tensor[]) => Tensor;

/** The functions whose autograd nodes are alive, by id; native code reports the ids of nodes that are gone. */
const registry = new Map<number, Piece>();
let nextId = 1;
let installed = false;

function installRunner(): void {
  if (installed) return;
  nt().setCheckpointRunner((id, handles) => {
    const piece = registry.get(id);
    if (!piece) throw new Error(`gradient checkpointing: no function registered as ${id}`);
    // Fresh handles of the saved inputs; everything the piece makes but its output is freed here.
    const out = tidy(() => piece(handles.map((h) => new Tensor(h))));
    return out.handle;
  });
  installed = true;
}

/**
 * `piece(inputs)` computed without keeping its intermediate activations; the backward pass recomputes it (with
 * the random state it had, so dropout masks repeat) and differentiates it. Every tensor the piece reads that is
 * not kept for the model's lifetime must come through `inputs` (the recomputation gets fresh handles of them);
 * `params` are the trainable weights it uses, which receive their gradients. The backward pass must run on this
 * thread: CPU tensors only. Without gradients this is just piece(inputs).
 */
export function checkpoint(piece: Piece, inputs: Tensor[], params: Tensor[]): Tensor {
  if (!isGradEnabled()) return piece(inputs);
  installRunner();
  for (const id of nt().deadCheckpointIds()) registry.delete(id);
  const id = nextId++;
  registry.set(id, piece);
  try {
    return new Tensor(
      nt().checkpoint(
        id,
        inputs.map((t) => t.handle),
        params.map((t) => t.handle),
      ),
    );
  } catch (error) {
    registry.delete(id);
    throw error;
  }
}

/** Functions still registered (for leak tests). */
export function liveCheckpoints(): number {
  for (const id of nt().deadCheckpointIds()) registry.delete(id);
  return registry.size;
}
