// A pipeline problem the user can fix: one line naming the file, the stage and the field.
export class PipelineError extends Error {
  override readonly name = "PipelineError";
}
