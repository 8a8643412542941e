/** A model folder, config or checkpoint problem; the message is one line naming the file or field. */
export class ModelError extends Error {
  override readonly name = "ModelError";
}
