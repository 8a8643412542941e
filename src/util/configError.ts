// A configuration problem: one line naming the file or flag and the field.
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
