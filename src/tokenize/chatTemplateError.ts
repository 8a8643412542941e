/** raise_exception() was called by a template, or the template failed to parse or render. */
export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChatTemplateError";
  }
}
