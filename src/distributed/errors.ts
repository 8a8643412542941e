// The one error type of src/distributed/: a failed rendezvous, a collective that timed out or lost a peer, a
// build without c10d. Its message is one line, with c10d's own message at the end where there is one.
import { SafetuneError } from "../util/safetuneError.js";

export class DistributedError extends SafetuneError {
  override readonly name = "DistributedError";
}

export const NO_C10D = "this safetune build has no c10d: install libgloo-dev and run npm run build:native";

/**
 * c10d's message: its first line, without the addon function's name that the addon puts in front ("allReduce: ")
 * and without a source location ("[/build/.../pair.cc:598] ").
 */
export function c10dMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split("\n")[0] ?? message;
  return firstLine.replace(/^[a-zA-Z]+: /, "").replace(/\[[^\]\s]*\.(?:cc|cpp|h|hpp):\d+\]\s*/g, "");
}
