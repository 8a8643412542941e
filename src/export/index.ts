export { ExportError } from "./errors.js";
export { type ExportGgufOptions, type ExportGgufResult, exportGguf } from "./exportGguf.js";
export { type GgufArchitecture, ggufArchitectureOf } from "./ggufArchitecture.js";
export { type GgufWeightType, ggufTensorsOf } from "./ggufTensors.js";
export { type TokenizerMetadata, tokenizerMetadata } from "./ggufTokenizer.js";
export { GGUF_ALIGNMENT, type GgufTensor, type GgufValue, gguf, writeGgufFile } from "./ggufWriter.js";
