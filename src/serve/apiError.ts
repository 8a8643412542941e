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
  return new ApiError(500, "server_error", `internal error: ${(err as Error)?.message ?? String(err)}`);
}
