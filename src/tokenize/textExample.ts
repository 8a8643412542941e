// A plain-text record as a training example (continued pretraining): the text encoded as the tokenizer encodes
// a single sequence (its BOS, if it adds one), then EOS, every token trained; no chat template.
import type { TextRecord } from "../data/records.js";
import { charBudget, clipText } from "./textBudget.js";
import type { Tokenizer } from "./tokenizer.js";
import type { TrainingExample } from "./trainingExample.js";

/** Tokens past maxLength are cut from the end (the start of a document is kept). */
export function tokenizeText(
  tokenizer: Tokenizer,
  record: TextRecord,
  options: { maxLength: number },
): TrainingExample {
  // Only the start of a document is kept: clipped first to what maxLength tokens can hold (textBudget.ts).
  const text =
    Number.isInteger(options.maxLength) && options.maxLength > 0
      ? clipText(record.text, charBudget(tokenizer, options.maxLength), "head")
      : record.text;
  const ids = tokenizer.encode(text);
  const eos = tokenizer.eosTokenId;
  if (eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
  const kept = ids.slice(0, options.maxLength);
  return {
    inputIds: kept,
    labels: [...kept],
    promptTokens: 0,
    completionTokens: kept.length,
    truncatedTokens: ids.length - kept.length,
  };
}
