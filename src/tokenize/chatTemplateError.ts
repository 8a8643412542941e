import { SafetuneError } from "../util/safetuneError.js";

/** raise_exception() was called by a template, or the template failed to parse or render. */
export class ChatTemplateError extends SafetuneError {
  constructor(message: string) {
    super(message);
    this.name = "ChatTemplateError";
  }
}
