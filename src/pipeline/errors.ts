// A pipeline problem the user can fix: one line naming the file, the stage and the field.
import { SafetuneError } from "../util/safetuneError.js";

export class PipelineError extends SafetuneError {
  override readonly name = "PipelineError";
}
