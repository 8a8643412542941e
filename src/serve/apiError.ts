// Errors as OpenAI's API shapes them: an HTTP status and { error: { message, type, param, code } }, so clients'
// own error handling (the openai package's APIError subclasses, retries on 429/5xx) works unchanged.

export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "timeout_error";

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** For the server's log only, never sent: where an internal failure happened (a stack, the worker's included). */
  detail: string | undefined;

  constructor(status: number, type: ApiErrorType, message: string, param?: string, code?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.param = param ?? null;
    this.code = code ?? null;
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Any thrown value as an ApiError: unexpected ones become a 500 without internals beyond their message. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const error = new ApiError(
    500,
    "server_error",
    `internal error: ${oneLine((err as Error)?.message ?? String(err))}`,
  );
  error.detail = (err as Error)?.stack;
  return error;
}

/** The first line of a message: error bodies and log messages are one line. */
export function oneLine(message: string): string {
  return message.split("\n")[0] ?? "";
}
