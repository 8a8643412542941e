// Data in: readers, mappings, validation, loading, SIT mixtures, prompt-disjoint splits, statistics, writing.
export { convertRecord } from "./convert.js";
export { DataError, RowProblem } from "./errors.js";
export { type LoadOptions, type LoadResult, loadRecords, type SkippedRow } from "./loadRecords.js";
export {
  checkFieldMapping,
  detectMapping,
  detectMappingName,
  type FieldMapping,
  MAPPING_HELP,
  MAPPING_NAMES,
  type Mapping,
  type MappingName,
  type MappingSpec,
  type NamedMapping,
  PKU_PAIRS,
  type PkuPairs,
  parseMappingSpec,
  resolveMapping,
} from "./mappings.js";
export { extraCount, type MixOptions, type MixPart, type MixResult, mixRecords } from "./mix.js";
export {
  type DataFormat,
  dataFormat,
  type ReadRowsOptions,
  type Row,
  type RowEntry,
  readRows,
  rowsOfJson,
} from "./readRows.js";
export * from "./records.js";
export {
  chatMessageSchema,
  dataRecordSchema,
  parseRecord,
  RECORD_KINDS,
  ROLES,
  validateRecord,
} from "./schemas.js";
export { groupByPrompt, type SplitOptions, type SplitResult, splitByPrompt } from "./split.js";
export {
  type LengthSummary,
  type PromptOverlap,
  promptOverlap,
  type RecordStats,
  recordStats,
  summarizeLengths,
  type TextTokenizer,
} from "./stats.js";
export {
  answerTexts,
  instructionPrompt,
  messagesText,
  normalizeText,
  promptKey,
  promptText,
  recordKey,
} from "./text.js";
export { parseTranscript, splitTranscriptPair } from "./transcripts.js";
export {
  countKinds,
  type DataManifest,
  type ManifestOutput,
  type ManifestSource,
  manifestPathFor,
  writeManifest,
  writeRecordsJsonl,
} from "./writeRecords.js";
