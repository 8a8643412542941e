/**
 * Records -> token ids and loss labels for supervised fine-tuning, reward models and DPO.
 *
 * The conversation is rendered with the chat template once and encoded once; the answer spans are found
 * by rendering prefixes, never by templating prompt and answer separately (that doubles BOS tokens and
 * system prompts, see DESIGN.md "Lessons the field learned the hard way"). For assistant message k:
 *
 * - **start**: render messages[0..k) with add_generation_prompt. Its tokens are where the answer starts
 *   (the generation header, e.g. `<|im_start|>assistant\n`, belongs to the prompt). Where the template
 *   renders that prefix differently from the full conversation (Qwen3 with `enable_thinking: false` writes
 *   an empty `<think>` block into the generation prompt but not into earlier turns), the common prefix
 *   of both renders is used.
 * - **end**: render the whole conversation again with a marker appended to message k's content; where
 *   the two renders start to agree again, from the end, is where the content ends. Rendering "the
 *   conversation through message k" instead is not reliable: templates render a final message
 *   differently (Qwen3 adds a `<think>` block to an assistant turn after the last user turn) and some
 *   ignore add_generation_prompt (the original Llama 3 template always appends an assistant header).
 *   The answer runs on through the first end-of-turn token(s) after its content (eos, `<|im_end|>`,
 *   `<|eot_id|>`, ...; tool calls or whitespace the template writes in between are included), so the
 *   model learns to stop, but never into the next message's content; what the template writes after them
 *   (the `\n` after `<|im_end|>`) is not trained. A template that writes no end-of-turn token (alpaca on
 *   a tokenizer without eos) gives answers that end with their content.
 *
 * Everything between the generation header and the end-of-turn marker is the answer. With Qwen3's
 * default template the final turn's answer therefore starts with the empty `<think>\n\n</think>\n\n`
 * block its template writes (the model, prompted with `<|im_start|>assistant\n`, must produce it); pass
 * `templateVariables: { enable_thinking: false }` to make that block part of the prompt instead.
 *
 * Character offsets become token offsets by encoding the rendered prefix (with the same leading special
 * tokens) and checking that its ids are the start of the full ids. When a join merges into one token
 * (a header ending in a space followed by an answer: `"Assistant: "` + `"Hi"` encodes as `" Hi"`), the
 * check fails and the boundary falls back to character offsets: decoded lengths past the last shared
 * token. A token that straddles the answer's start is part of the answer (so the answer is trained
 * whole); one that straddles its end is too.
 */

import type {
  ChatMessage,
  ChatRecord,
  InstructionRecord,
  LabelledAnswerRecord,
  PreferenceRecord,
} from "../data/records.js";
import { SafetuneError } from "../util/safetuneError.js";
import { type HasChatTemplates, PLAIN_TEMPLATES, resolveChatTemplate } from "./chatTemplate.js";
import { END_OF_TURN_TOKENS } from "./specialTokens.js";
import { charBudget, clipMessages } from "./textBudget.js";
import type { Tokenizer } from "./tokenizer.js";

/** The label of a position that carries no loss (cross-entropy's ignore_index). */
export const IGNORE_INDEX = -100;

/** One tokenized training sequence. */
export interface TrainingExample {
  inputIds: number[];
  /** The id to predict at each position, {@link IGNORE_INDEX} where no loss is taken (not yet shifted). */
  labels: number[];
  /** Tokens before the first answer token (for a preference pair: the prompt both answers share). */
  promptTokens: number;
  /**
   * Tokens of the trained answers (assistant content and its end-of-turn marker), counted the same way
   * whether or not completionOnly masks the rest. inputIds.length - promptTokens - completionTokens are
   * template tokens between or after answers (later user turns, the `\n` after `<|im_end|>`).
   */
  completionTokens: number;
  /** Tokens removed to fit maxLength (of a text over the clipping budget, those of its clipped part: textBudget.ts). */
  truncatedTokens: number;
}

/** A record could not be made into a training example; the message is one line naming its source. */
export class TrainingExampleError extends SafetuneError {
  constructor(source: string | undefined, problem: string) {
    super(`${source ?? "conversation"}: ${problem}`.replace(/\s+/g, " ").trim());
    this.name = "TrainingExampleError";
  }
}

/** Records that are one conversation with answers to learn. */
export type ConversationRecord = InstructionRecord | ChatRecord | LabelledAnswerRecord;

export interface RecordMessagesOptions {
  /** The chat template that will render the messages (a name, or a jinja source). */
  template?: string;
  /** Resolves `template` (or the default template when none is named) to decide whether it is Alpaca's. */
  tokenizer?: HasChatTemplates;
}

function isAlpaca(options: RecordMessagesOptions): boolean {
  const { template, tokenizer } = options;
  if (tokenizer !== undefined) {
    try {
      return resolveChatTemplate(tokenizer, template) === PLAIN_TEMPLATES.alpaca;
    } catch {
      return false; // the template error is reported when rendering
    }
  }
  return template === "alpaca" || template === PLAIN_TEMPLATES.alpaca;
}

/**
 * The conversation of a record:
 * - instruction: a user turn with the instruction and an assistant turn with the output. A non-empty
 *   `input` becomes a message with role "input" for the `alpaca` template (its `### Input:` section);
 *   for every other template it is appended to the user turn after a blank line.
 * - chat: its messages; labelled: prompt then answer.
 * Preference records have two conversations ({@link preferenceConversations}); prompt records none.
 */
export function recordMessages(
  record: ConversationRecord,
  options: RecordMessagesOptions = {},
): ChatMessage[] {
  switch (record.kind) {
    case "instruction": {
      const input = record.input ?? "";
      const hasInput = input.trim() !== "";
      if (isAlpaca(options)) {
        return [
          { role: "user", content: record.instruction },
          ...(hasInput ? [{ role: "input", content: input }] : []),
          { role: "assistant", content: record.output },
        ];
      }
      return [
        { role: "user", content: hasInput ? `${record.instruction}\n\n${input}` : record.instruction },
        { role: "assistant", content: record.output },
      ];
    }
    case "chat":
      return [...record.messages];
    case "labelled":
      return [...record.prompt, ...record.answer];
    default: {
      const kind = (record as { kind?: unknown }).kind;
      throw new TypeError(
        `recordMessages: a ${String(kind)} record is not one conversation` +
          (kind === "preference" ? " (use preferenceConversations)" : ""),
      );
    }
  }
}

/** The two conversations of a preference record: the prompt followed by each answer. */
export function preferenceConversations(record: PreferenceRecord): {
  chosen: ChatMessage[];
  rejected: ChatMessage[];
} {
  return {
    chosen: [...record.prompt, ...record.chosen],
    rejected: [...record.prompt, ...record.rejected],
  };
}

export interface TokenizeOptions {
  /**
   * The chat template: a name of the tokenizer's templates or of PLAIN_TEMPLATES (e.g. "alpaca" for a
   * tokenizer without one), or a literal jinja template. Default: the tokenizer's own template.
   */
  template?: string;
  /** Extra template variables, e.g. `{ enable_thinking: false }` for Qwen3. */
  templateVariables?: Record<string, unknown>;
  /** Tool schemas passed to the template as `tools`. */
  tools?: unknown;
  /** Longest sequence kept, in tokens, leading special tokens included. */
  maxLength: number;
  /** Loss on the answers only (labels -100 elsewhere). Default true. */
  completionOnly?: boolean;
  /**
   * "prompt-first" (the only strategy): drop template tokens after the final answer, then prompt tokens
   * from the left (after the leading BOS, which is kept), and only when the final answer alone is too
   * long, the answer's end.
   */
  truncation?: "prompt-first";
  /** Names the record in error messages ("file.jsonl:12"). */
  source?: string;
}

/** The untruncated token layout of one conversation. */
interface Layout {
  ids: number[];
  /** Leading special tokens that truncation keeps (the BOS). */
  lead: number;
  /** Answer spans [start, end) in token indices, in order. */
  spans: Array<[number, number]>;
}

/** A marker for the end of an answer's content (a private-use character; see layoutConversation). */
const CONTENT_MARK = "\uE000";

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function commonSuffixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

/**
 * The token index in `ids` of a character boundary whose prefix text encodes as `prefixIds`. Exact when
 * `prefixIds` is a prefix of `ids`. Otherwise the join merged tokens: compare decoded lengths after the
 * last shared token. "start" returns the token containing the boundary character (a straddling token
 * counts as after the boundary); "end" the index after the token containing the last character before it.
 */
function tokenBoundary(
  tokenizer: Tokenizer,
  ids: readonly number[],
  prefixIds: readonly number[],
  side: "start" | "end",
): number {
  const n = Math.min(ids.length, prefixIds.length);
  let shared = 0;
  while (shared < n && ids[shared] === prefixIds[shared]) shared++;
  if (shared === prefixIds.length) return shared;
  // Decoded lengths grow with the number of tokens: binary-search the first j whose text reaches past
  // (start) or up to (end) the prefix's remaining text.
  const rest = tokenizer.decode(prefixIds.slice(shared)).length;
  let lo = shared + 1;
  let hi = ids.length + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const covered = tokenizer.decode(ids.slice(shared, mid)).length;
    if (side === "end" ? covered >= rest : covered > rest) hi = mid;
    else lo = mid + 1;
  }
  return Math.min(side === "end" ? lo : lo - 1, ids.length);
}

function endOfTurnIds(tokenizer: Tokenizer): Set<number> {
  const ids = new Set<number>(tokenizer.eosTokenIds);
  if (tokenizer.eosTokenId !== undefined) ids.add(tokenizer.eosTokenId);
  for (const token of END_OF_TURN_TOKENS) {
    const id = tokenizer.tokenToId(token);
    if (id !== undefined && tokenizer.isSpecialId(id)) ids.add(id);
  }
  return ids;
}

function hasToolCalls(message: ChatMessage): boolean {
  const calls = message.tool_calls;
  return Array.isArray(calls) ? calls.length > 0 : calls !== undefined && calls !== null;
}

function templateLabel(template: string | undefined): string {
  if (template === undefined) return "the tokenizer's chat template";
  if (template.includes("{{") || template.includes("{%")) return "the given chat template";
  return `chat template "${template}"`;
}

/**
 * Renders and encodes `messages` and finds the spans of the assistant messages at index >= trainFrom
 * (see the module comment).
 */
function layoutConversation(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: TokenizeOptions,
  trainFrom: number,
): Layout {
  const { source } = options;
  const label = templateLabel(options.template);
  const render = (msgs: readonly ChatMessage[], addGenerationPrompt: boolean): string => {
    try {
      return tokenizer.applyChatTemplate(msgs, {
        addGenerationPrompt,
        ...(options.template === undefined ? {} : { template: options.template }),
        ...(options.tools === undefined ? {} : { tools: options.tools }),
        ...(options.templateVariables === undefined ? {} : { extra: options.templateVariables }),
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new TrainingExampleError(source, `${label} cannot render this conversation: ${why}`);
    }
  };

  const full = render(messages, false);
  if (full === "")
    throw new TrainingExampleError(source, `${label} rendered this conversation as empty text`);

  // BOS: templates write their own. If the tokenizer adds leading special tokens on encode that the
  // rendered text does not already start with (a template without bos_token, e.g. alpaca, on a Llama
  // tokenizer), they are added once, in front; otherwise none are, so BOS is never doubled. The
  // tokenizer's trailing special tokens (add_eos_token) are never added: the template ends each turn.
  const leadIds = tokenizer.specialPrefix;
  const addLead = leadIds.length > 0 && !full.startsWith(tokenizer.decode(leadIds));
  const encode = (text: string): number[] => {
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    return addLead ? [...leadIds, ...ids] : ids;
  };
  const ids = encode(full);
  const bos = tokenizer.bosTokenId;
  const lead = addLead ? leadIds.length : bos !== undefined && ids[0] === bos ? 1 : 0;

  const endOfTurn = endOfTurnIds(tokenizer);
  const withContent = (k: number, edit: (content: string) => string): ChatMessage[] =>
    messages.map((m, i) =>
      i === k ? { ...m, content: edit(typeof m.content === "string" ? m.content : "") } : m,
    );
  const spans: Array<[number, number]> = [];
  for (let k = trainFrom; k < messages.length; k++) {
    const message = messages[k] as ChatMessage;
    if (message.role !== "assistant") continue;
    const which = `assistant message ${k + 1}`;
    const content = typeof message.content === "string" ? message.content : "";
    if (content.trim() === "" && !hasToolCalls(message)) {
      throw new TrainingExampleError(source, `${which} is an empty answer`);
    }
    // Start: the prefix with the generation prompt (or where it stops agreeing with the full render).
    const prefix = render(messages.slice(0, k), true);
    const startChar = full.startsWith(prefix) ? prefix.length : commonPrefixLength(prefix, full);
    const start = Math.max(lead, tokenBoundary(tokenizer, ids, encode(full.slice(0, startChar)), "start"));
    // End of content: where a render with a marker after this message's content agrees again from the end.
    const marked = render(
      withContent(k, (c) => c + CONTENT_MARK),
      false,
    );
    if (marked === full) {
      throw new TrainingExampleError(source, `${label} does not render the content of ${which}`);
    }
    const endChar = full.length - commonSuffixLength(full, marked);
    const contentEnd =
      endChar <= startChar ? start : tokenBoundary(tokenizer, ids, encode(full.slice(0, endChar)), "end");
    const previous = spans.at(-1);
    if (contentEnd < start || (previous !== undefined && start < previous[1])) {
      throw new TrainingExampleError(
        source,
        `${label} renders the conversation before ${which} differently from the whole conversation`,
      );
    }
    // The answer runs on through the first end-of-turn token(s) after its content (tool calls and
    // whitespace may come between), so the model learns to stop, but never into the next message's content.
    let bound = ids.length;
    if (k + 1 < messages.length) {
      const next = render(
        withContent(k + 1, (c) => CONTENT_MARK + c),
        false,
      );
      bound = tokenBoundary(tokenizer, ids, encode(full.slice(0, commonPrefixLength(full, next))), "start");
    }
    let end = contentEnd;
    for (let j = contentEnd; j < bound; j++) {
      if (!endOfTurn.has(ids[j] as number)) continue;
      end = j + 1;
      while (end < bound && endOfTurn.has(ids[end] as number)) end++;
      break;
    }
    if (end <= start) throw new TrainingExampleError(source, `${which} renders to zero tokens`);
    spans.push([start, end]);
  }
  return { ids, lead, spans };
}

interface Cuts {
  /** Prompt tokens removed after the lead. */
  prompt: number;
  /** Template tokens removed after the final answer. */
  tail: number;
  /** Tokens removed from the final answer's end. */
  completion: number;
}

/** Where the protected answer starts: the final span's start (or the whole sequence is prompt). */
function keepFrom(layout: Layout): number {
  return layout.spans.at(-1)?.[0] ?? layout.ids.length;
}

function keepEnd(layout: Layout): number {
  return layout.spans.at(-1)?.[1] ?? layout.ids.length;
}

/** Prompt tokens that must go so that the sequence fits once the tail is gone. */
function promptCutNeeded(layout: Layout, maxLength: number, from: number): number {
  return Math.min(Math.max(keepEnd(layout) - maxLength, 0), from - layout.lead);
}

function planCuts(layout: Layout, maxLength: number, promptCut: number): Cuts {
  const n = layout.ids.length;
  const tail = Math.min(Math.max(n - promptCut - maxLength, 0), n - keepEnd(layout));
  const completion = Math.max(n - promptCut - tail - maxLength, 0);
  return { prompt: promptCut, tail, completion };
}

function buildExample(layout: Layout, cuts: Cuts, completionOnly: boolean): TrainingExample {
  const { ids, lead, spans } = layout;
  const inSpan = new Array<boolean>(ids.length).fill(false);
  for (const [start, end] of spans) inSpan.fill(true, start, end);
  const keepUntil = ids.length - cuts.tail - cuts.completion;
  const kept: number[] = [];
  for (let i = 0; i < lead; i++) kept.push(i);
  for (let i = lead + cuts.prompt; i < keepUntil; i++) kept.push(i);
  const inputIds = kept.map((i) => ids[i] as number);
  const labels = kept.map((i) => (!completionOnly || inSpan[i] ? (ids[i] as number) : IGNORE_INDEX));
  let promptTokens = kept.findIndex((i) => inSpan[i]);
  if (promptTokens < 0) promptTokens = kept.length;
  const completionTokens = kept.reduce((count, i) => count + (inSpan[i] ? 1 : 0), 0);
  return {
    inputIds,
    labels,
    promptTokens,
    completionTokens,
    truncatedTokens: cuts.prompt + cuts.tail + cuts.completion,
  };
}

/**
 * Message contents clipped to what `maxLength` tokens can use before anything is rendered or encoded (see
 * textBudget.ts): the kept tokens are the same, and a 10 MB row no longer costs seconds and hundreds of MB.
 * `truncatedTokens` then counts the tokens cut from the clipped text. A bad maxLength is left to checkOptions.
 */
function clipForLength(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  maxLength: number,
  answersFrom: number,
): readonly ChatMessage[] {
  if (!Number.isInteger(maxLength) || maxLength <= 0) return messages;
  return clipMessages(messages, charBudget(tokenizer, maxLength), answersFrom);
}

function checkOptions(options: TokenizeOptions, lead: number): void {
  const { maxLength, truncation } = options;
  if (truncation !== undefined && truncation !== "prompt-first") {
    throw new TrainingExampleError(options.source, `unknown truncation "${String(truncation)}"`);
  }
  if (!Number.isInteger(maxLength) || maxLength <= lead) {
    throw new RangeError(
      `tokenize: maxLength must be an integer above the ${lead} leading special token(s), got ${maxLength}`,
    );
  }
}

/**
 * Tokenizes one conversation for training (see the module comment for how answers are found).
 * Every assistant turn is an answer (all are trained in a multi-turn chat). Throws a
 * {@link TrainingExampleError} naming `options.source` when the template raises or renders nothing, when
 * completionOnly is set and there is no assistant turn, or when an answer is empty or renders to no tokens.
 */
export function tokenizeConversation(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: TokenizeOptions,
): TrainingExample {
  const completionOnly = options.completionOnly ?? true;
  const finalAnswer = messages.findLastIndex((m) => m.role === "assistant");
  const clipped = clipForLength(tokenizer, messages, options.maxLength, Math.max(finalAnswer, 0));
  const layout = layoutConversation(tokenizer, clipped, options, 0);
  checkOptions(options, layout.lead);
  if (completionOnly && layout.spans.length === 0) {
    throw new TrainingExampleError(options.source, "no assistant turn to train on");
  }
  const cuts = planCuts(
    layout,
    options.maxLength,
    promptCutNeeded(layout, options.maxLength, keepFrom(layout)),
  );
  return buildExample(layout, cuts, completionOnly);
}

/** {@link tokenizeConversation} of a record's conversation; the source defaults to the record's. */
export function tokenizeRecord(
  tokenizer: Tokenizer,
  record: ConversationRecord,
  options: TokenizeOptions,
): TrainingExample {
  const messages = recordMessages(record, {
    tokenizer,
    ...(options.template === undefined ? {} : { template: options.template }),
  });
  return tokenizeConversation(tokenizer, messages, {
    ...options,
    source: options.source ?? record.source ?? record.id,
  });
}

/**
 * Tokenizes both answers of a preference record. Only the answers (the assistant turns after the
 * prompt) are trained; assistant turns inside the prompt are context. Both examples start with the same
 * `promptTokens` ids: the prompt is truncated by the same amount in both (as much as the longer one
 * needs), then each answer's end is cut if it alone is too long.
 */
export function tokenizePreference(
  tokenizer: Tokenizer,
  record: PreferenceRecord,
  options: TokenizeOptions,
): { chosen: TrainingExample; rejected: TrainingExample } {
  const source = options.source ?? record.source ?? record.id;
  const opts = { ...options, source };
  const completionOnly = options.completionOnly ?? true;
  const from = record.prompt.length;
  const both = preferenceConversations(record);
  const conversations = {
    chosen: clipForLength(tokenizer, both.chosen, options.maxLength, from),
    rejected: clipForLength(tokenizer, both.rejected, options.maxLength, from),
  };
  const chosen = layoutConversation(
    tokenizer,
    conversations.chosen,
    { ...opts, source: `${source ?? "preference"} (chosen)` },
    from,
  );
  const rejected = layoutConversation(
    tokenizer,
    conversations.rejected,
    { ...opts, source: `${source ?? "preference"} (rejected)` },
    from,
  );
  for (const [name, layout] of [
    ["chosen", chosen],
    ["rejected", rejected],
  ] as const) {
    if (layout.spans.length === 0) {
      throw new TrainingExampleError(source, `the ${name} answer has no assistant turn`);
    }
  }
  checkOptions(opts, Math.max(chosen.lead, rejected.lead));
  if (chosen.lead !== rejected.lead) {
    throw new TrainingExampleError(source, "chosen and rejected render with different leading tokens");
  }
  // The shared prompt: tokens before both answers that are identical in both. It differs from each
  // answer's start only when the join shifted token boundaries; the tokens between become answer.
  const firstC = chosen.spans[0]?.[0] as number;
  const firstR = rejected.spans[0]?.[0] as number;
  let shared = 0;
  const limit = Math.min(firstC, firstR);
  while (shared < limit && chosen.ids[shared] === rejected.ids[shared]) shared++;
  for (const layout of [chosen, rejected]) {
    const first = layout.spans[0] as [number, number];
    first[0] = Math.max(shared, layout.lead);
  }
  // Truncation keeps the whole of each answer: keepFrom is the shared prompt's end, not the final turn.
  const promptCut = Math.max(
    promptCutNeeded(chosen, options.maxLength, shared),
    promptCutNeeded(rejected, options.maxLength, shared),
  );
  return {
    chosen: buildExample(chosen, planCuts(chosen, options.maxLength, promptCut), completionOnly),
    rejected: buildExample(rejected, planCuts(rejected, options.maxLength, promptCut), completionOnly),
  };
}
