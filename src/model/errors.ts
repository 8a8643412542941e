import { SafetuneError } from "../util/safetuneError.js";

/** A model folder, config or checkpoint problem; the message is one line naming the file or field. */
export class ModelError extends SafetuneError {
  override readonly name = "ModelError";
}
