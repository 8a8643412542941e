// Why `safetune serve` could not start (the port is taken, the model folder does not load): a one-line message
// the CLI prints as it is, after everything the start had begun (worker, guards) has been stopped.
import { SafetuneError } from "../util/safetuneError.js";

export class ServerStartError extends SafetuneError {
  override readonly name = "ServerStartError";
}
