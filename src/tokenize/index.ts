/** Tokenization: Hugging Face tokenizers and chat templates, streaming detokenization, BPE training. */
export {
  type BpeTokenizerJson,
  type BpeTrainerOptions,
  saveTokenizerFolder,
  type TokenizerFolderConfig,
  trainBpeTokenizer,
} from "./bpeTrainer.js";
export {
  type ApplyChatTemplateOptions,
  ChatTemplateError,
  PLAIN_TEMPLATES,
  type PlainTemplateName,
  resolveChatTemplate,
  TemplateLimitError,
} from "./chatTemplate.js";
export { TokenizerFileError } from "./files.js";
export { type PackedRow, packExamples } from "./packing.js";
export { StreamDecoder, type StreamDecoderOptions } from "./streamDecoder.js";
export { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from "./templateLimits.js";
export {
  type DecodeOptions,
  type EncodeOptions,
  loadTokenizer,
  loadTokenizerSync,
  Tokenizer,
  type TokenizerSources,
} from "./tokenizer.js";
export {
  IGNORE_INDEX,
  preferenceConversations,
  recordMessages,
  type TokenizeOptions,
  type TrainingExample,
  TrainingExampleError,
  tokenizeConversation,
  tokenizePreference,
  tokenizeRecord,
} from "./trainingExample.js";
