// The OpenAI-compatible client: one endpoint (retries, backoff, one-line errors), a pool of replicas, and many
// prompts sent through a pool at once. Evaluation answerers, LLM judges and RAFT's endpoint sampler use it.
export {
  AllEndpointsDownError,
  EndpointPool,
  type EndpointPoolOptions,
  type ReplicaCounters,
} from "./endpointPool.js";
export { EndpointError, type EndpointOptions, type EndpointReply, OpenAIEndpoint } from "./openaiEndpoint.js";
export { endpointTemplateSource, type PromptRequest, sendPrompts } from "./sendPrompts.js";
