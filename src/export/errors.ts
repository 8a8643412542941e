/** A model folder that cannot be exported (unsupported tokenizer or architecture detail); one line naming the file or field. */
export class ExportError extends Error {
  override readonly name = "ExportError";
}
