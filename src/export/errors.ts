import { SafetuneError } from "../util/safetuneError.js";

/** A model folder that cannot be exported (unsupported tokenizer or architecture detail); one line naming the file or field. */
export class ExportError extends SafetuneError {
  override readonly name = "ExportError";
}
