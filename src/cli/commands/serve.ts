import { SERVE_DEFAULTS, type ServeOptions } from "../../serve/serveOptions.js";
import { ServerStartError } from "../../serve/serverStartError.js";
import { optionalNumber, parseCommandArgs, requireString } from "../args.js";
import { MODEL_PLACEMENT_FLAGS, MODEL_PLACEMENT_HELP, modelPlacement } from "../modelPlacement.js";
import { checkLocalModel } from "../preflight.js";

export const serveHelp = `safetune serve --model DIR [options]

Serves the model behind an OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models), with
/health, /metrics (Prometheus) and the dashboard at /ui. Logs are JSON lines on stderr.

  --model DIR              Hugging Face model folder with its tokenizer
  --adapter DIR            PEFT LoRA adapter to apply
  --name NAME              model id clients send (default: the folder's name)
  --guard FILE             guard.yaml: input and output safety guards (see docs/guards.md)
  --host ADDR              address to bind (default ${SERVE_DEFAULTS.host}: this machine only)
  --port N                 port (default ${SERVE_DEFAULTS.port}; 0 picks a free one)
  --api-key KEY            require 'Authorization: Bearer KEY' on /v1, /api and /metrics (repeatable; also the
                           SAFETUNE_API_KEYS variable, comma-separated)
  --cors ORIGIN            allow browser calls from ORIGIN (repeatable; * for any); off by default
  --allowed-host NAME      answer requests whose Host header is NAME (repeatable; NAME:PORT for one port,
                           .example.com for a domain, * for any); localhost, IP addresses and --host are
                           always answered, other names get 403 (DNS-rebinding protection)
  --runs DIR               evaluation runs the dashboard shows
  --template NAME          chat template override: alpaca | chatml | llama2 | mistral | llama3 | jinja source
${MODEL_PLACEMENT_HELP}
  --max-queue N            waiting requests before new ones get 429 (default ${SERVE_DEFAULTS.maxQueue})
  --max-batch N            rows (requests x n) decoded together (default ${SERVE_DEFAULTS.maxBatchRows})
  --max-tokens N           completion tokens when a request sets none (default ${SERVE_DEFAULTS.defaultMaxTokens})
  --timeout SECONDS        cancel a request unfinished after this (default ${SERVE_DEFAULTS.requestTimeoutMs / 1000})
  --body-limit BYTES       largest request body (default ${SERVE_DEFAULTS.bodyLimitBytes})
  --threads N              torch threads of the generation worker
  --log-prompts            include prompts in the request log (off: they may hold personal data)
  --verbose                show stack traces on errors (and in the log of failed requests)`;

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      name: { type: "string" },
      guard: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "api-key": { type: "string", multiple: true },
      cors: { type: "string", multiple: true },
      "allowed-host": { type: "string", multiple: true },
      runs: { type: "string" },
      template: { type: "string" },
      ...MODEL_PLACEMENT_FLAGS,
      "max-queue": { type: "string" },
      "max-batch": { type: "string" },
      "max-tokens": { type: "string" },
      timeout: { type: "string" },
      "body-limit": { type: "string" },
      threads: { type: "string" },
      "log-prompts": { type: "boolean" },
    },
    "serve",
  );
  if (values.help) {
    console.log(serveHelp);
    return;
  }
  const { dtype, device, quantize } = modelPlacement(values);
  const envKeys = (process.env.SAFETUNE_API_KEYS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  const apiKeys = [...(values["api-key"] ?? []), ...envKeys];
  const timeout = optionalNumber(values.timeout, "timeout", { min: 0.001 });
  const options: ServeOptions = {
    model: requireString(values.model, "model", "serve"),
    ...(values.adapter ? { adapter: values.adapter } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.guard ? { guard: values.guard } : {}),
    ...(values.host ? { host: values.host } : {}),
    port: optionalNumber(values.port, "port", { integer: true, min: 0, max: 65535 }) ?? SERVE_DEFAULTS.port,
    ...(apiKeys.length ? { apiKeys } : {}),
    ...(values.cors?.length ? { corsOrigins: values.cors } : {}),
    ...(values["allowed-host"]?.length ? { allowedHosts: values["allowed-host"] } : {}),
    ...(values.runs ? { runsDir: values.runs } : {}),
    ...(values.template ? { template: values.template } : {}),
    ...(dtype ? { dtype } : {}),
    ...(device ? { device } : {}),
    ...(quantize ? { quantize } : {}),
    maxQueue:
      optionalNumber(values["max-queue"], "max-queue", { integer: true, min: 1 }) ?? SERVE_DEFAULTS.maxQueue,
    maxBatchRows:
      optionalNumber(values["max-batch"], "max-batch", { integer: true, min: 1 }) ??
      SERVE_DEFAULTS.maxBatchRows,
    defaultMaxTokens:
      optionalNumber(values["max-tokens"], "max-tokens", { integer: true, min: 1 }) ??
      SERVE_DEFAULTS.defaultMaxTokens,
    requestTimeoutMs: timeout === undefined ? SERVE_DEFAULTS.requestTimeoutMs : Math.round(timeout * 1000),
    bodyLimitBytes:
      optionalNumber(values["body-limit"], "body-limit", { integer: true, min: 1 }) ??
      SERVE_DEFAULTS.bodyLimitBytes,
    ...(values.threads
      ? { threads: optionalNumber(values.threads, "threads", { integer: true, min: 1 }) as number }
      : {}),
    logPrompts: values["log-prompts"] === true,
    verbose: values.verbose === true,
  };
  // The folders, tokenizer and template before the generation worker loads the model (tens of seconds at real
  // sizes); the port and the guard file are checked next, by startServer, also before the load.
  try {
    await checkLocalModel({
      model: options.model,
      adapter: options.adapter,
      template: options.template,
      tokenizer: true,
    });
  } catch (error) {
    throw new ServerStartError(`serve: ${(error as Error).message.split("\n")[0]}`);
  }
  // Loaded here, not at the top: the HTTP stack would otherwise add to every other command's start-up.
  const { startServer } = await import("../../serve/server.js");
  const server = await startServer(options);
  console.log(`safetune: serving ${server.model} at ${server.url}/v1 (dashboard: ${server.url}/ui)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
