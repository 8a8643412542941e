// The generation worker thread: loads the model and tokenizer once, then decodes batches as the main thread sends
// requests, so the server's event loop (health checks, new connections, streaming) never waits on the model.
import { parentPort, workerData } from "node:worker_threads";
import { setNumThreads } from "../engine/index.js";
import { loadModel, readModelConfig } from "../model/loadModel.js";
import { attachAdapter } from "../model/lora.js";
import { loadAdapter } from "../model/loraFiles.js";
import { loadTokenizer } from "../tokenize/tokenizer.js";
import { BatchDecoder } from "./batchDecoder.js";
import type { FromWorker, ToWorker, WorkerModelOptions } from "./generationProtocol.js";

const port = parentPort;
if (!port) throw new Error("generationWorker: must run as a worker thread");
const options = workerData as WorkerModelOptions;
const send = (message: FromWorker) => port.postMessage(message);

try {
  if (options.threads) setNumThreads(options.threads);
  // The folder and its config first, so a missing folder says so (not "tokenizer.json: file not found"); then the
  // tokenizer before the weights (as in `generate`): its parse garbage is collected before they arrive.
  readModelConfig(options.model);
  const tokenizer = await loadTokenizer(options.model);
  const model = loadModel(options.model, {
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.device ? { device: options.device } : {}),
    ...(options.quantize ? { quantize: options.quantize } : {}),
  });
  if (options.adapter) attachAdapter(model, loadAdapter(options.adapter, model));
  const decoder = new BatchDecoder(
    model,
    tokenizer,
    {
      maxBatchRows: options.maxBatchRows,
      defaultMaxTokens: options.defaultMaxTokens,
      ...(options.template === undefined ? {} : { template: options.template }),
    },
    send,
  );
  port.on("message", (message: ToWorker) => {
    try {
      if (message.type === "generate") decoder.submit(message);
      else decoder.cancel(message.id);
    } catch (err) {
      // submit answers its own failures; this is the last line, so that no message can end the worker.
      if (message.type === "generate")
        send({ type: "error", id: message.id, message: (err as Error).message, stack: (err as Error).stack });
    }
  });
  send({
    type: "ready",
    model: {
      contextLength: model.config.maxPositions,
      vocabSize: model.config.vocabSize,
      family: model.config.family,
      hasChatTemplate: tokenizer.chatTemplate !== undefined || options.template !== undefined,
    },
  });
  await decoder.run();
  throw new Error("the decoding loop stopped");
} catch (err) {
  // While loading, this fails the server's start; afterwards the pool replaces this worker.
  send({ type: "failed", message: (err as Error).message, stack: (err as Error).stack });
}
