// A configuration problem: one line naming the file or flag and the field.
import { SafetuneError } from "./safetuneError.js";

export class ConfigError extends SafetuneError {
  override readonly name = "ConfigError";
}
