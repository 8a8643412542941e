/**
 * Chat templates: rendering with @huggingface/jinja the way transformers' apply_chat_template does,
 * named plain templates for tokenizers that ship none, and template selection.
 */
import { Environment, Template } from "@huggingface/jinja";
import { ChatTemplateError } from "./chatTemplateError.js";
import { errorText, isPlainObject, TokenizerFileError } from "./files.js";
import {
  boundedInterpreter,
  DEFAULT_TEMPLATE_LIMITS,
  TemplateBudget,
  TemplateLimitError,
  type TemplateLimits,
} from "./templateLimits.js";

export interface ApplyChatTemplateOptions {
  /** Append the header that opens an assistant turn (transformers' add_generation_prompt). Default false. */
  addGenerationPrompt?: boolean;
  /** Tool/function schemas, passed as `tools` (null when absent, as transformers passes None). */
  tools?: unknown;
  /** Extra template variables (e.g. `{ enable_thinking: false }`); they override the defaults. */
  extra?: Record<string, unknown>;
  /**
   * Which template to use instead of the tokenizer's default: a name from the tokenizer's named templates
   * or from {@link PLAIN_TEMPLATES}, or a literal jinja template (anything containing `{{` or `{%`).
   */
  template?: string;
}

export { ChatTemplateError, TemplateLimitError };

const ALPACA_PREAMBLE =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.";
const ALPACA_INPUT_PREAMBLE =
  "Below is an instruction that describes a task, paired with an input that provides further context. " +
  "Write a response that appropriately completes the request.";

/** `bos_token`/`eos_token` are left undefined when a tokenizer has none, as in transformers. */
const BOS = "(bos_token if bos_token is defined and bos_token is not none else '')";
const EOS = "(eos_token if eos_token is defined and eos_token is not none else '')";

/** Splits an optional leading system message off into `system_message` / `loop_messages`. */
const SPLIT_SYSTEM = `
{%- if messages and messages[0].role == 'system' -%}
  {%- set system_message = messages[0].content -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set system_message = '' -%}
  {%- set loop_messages = messages -%}
{%- endif -%}`;

const ALTERNATE_ROLES = `
  {%- if (message.role == 'user') != (loop.index0 % 2 == 0) -%}
    {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/... after an optional system message') -}}
  {%- endif -%}`;

/**
 * Jinja chat templates for tokenizers without one (select with {@link resolveChatTemplate} or the
 * `template` option of applyChatTemplate). All honour `add_generation_prompt`.
 *
 * - `alpaca`: the Stanford Alpaca prompt. A user turn is the instruction; a turn with role `"input"` adds
 *   the `### Input:` section and switches to the with-input preamble; a leading system message replaces
 *   the preamble; an assistant turn is `### Response:\n{content}{eos}`. The generation prompt is
 *   `### Response:\n`.
 * - `chatml`: `<|im_start|>{role}\n{content}<|im_end|>\n`; generation prompt `<|im_start|>assistant\n`.
 * - `llama2`: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`, bos before each
 *   `[INST]`.
 * - `mistral`: `<s>[INST] {user} [/INST] {assistant}</s>` (mistral-common v1 spacing); a system message
 *   is prepended to the first user turn followed by a blank line. The prompt already ends with `[/INST]`,
 *   which is the assistant header, so add_generation_prompt adds nothing.
 * - `llama3`: `<|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>`;
 *   generation prompt `<|start_header_id|>assistant<|end_header_id|>\n\n`.
 */
export const PLAIN_TEMPLATES: Readonly<
  Record<"alpaca" | "chatml" | "llama2" | "mistral" | "llama3", string>
> = Object.freeze({
  alpaca: String.raw`
{%- set ns = namespace(has_input=false) -%}
{%- for message in messages -%}
  {%- if message.role == 'input' -%}{%- set ns.has_input = true -%}{%- endif -%}
{%- endfor -%}
{%- if messages and messages[0].role == 'system' -%}
  {{- messages[0].content + '\n\n' -}}
{%- elif ns.has_input -%}
  {{- '${ALPACA_INPUT_PREAMBLE}\n\n' -}}
{%- else -%}
  {{- '${ALPACA_PREAMBLE}\n\n' -}}
{%- endif -%}
{%- for message in messages -%}
  {%- if message.role == 'user' -%}
    {%- if not loop.first and messages[loop.index0 - 1].role == 'assistant' -%}{{- '\n\n' -}}{%- endif -%}
    {{- '### Instruction:\n' + message.content + '\n\n' -}}
  {%- elif message.role == 'input' -%}
    {{- '### Input:\n' + message.content + '\n\n' -}}
  {%- elif message.role == 'assistant' -%}
    {{- '### Response:\n' + message.content + ${EOS} -}}
  {%- elif not (message.role == 'system' and loop.first) -%}
    {{- raise_exception('The alpaca template supports system (first), user, input and assistant roles, not ' + message.role) -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt and not (messages and messages[-1].role == 'assistant') -%}
  {{- '### Response:\n' -}}
{%- endif -%}`.trim(),

  chatml: String.raw`
{%- for message in messages -%}
  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<|im_start|>assistant\n' -}}
{%- endif -%}`.trim(),

  llama2: String.raw`
${SPLIT_SYSTEM}
{%- for message in loop_messages -%}
${ALTERNATE_ROLES}
  {%- if message.role == 'user' -%}
    {%- if loop.first and system_message -%}
      {{- ${BOS} + '[INST] <<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message.content + ' [/INST]' -}}
    {%- else -%}
      {{- ${BOS} + '[INST] ' + message.content + ' [/INST]' -}}
    {%- endif -%}
  {%- else -%}
    {{- ' ' + message.content + ' ' + ${EOS} -}}
  {%- endif -%}
{%- endfor -%}`.trim(),

  mistral: String.raw`
${SPLIT_SYSTEM}
{{- ${BOS} -}}
{%- for message in loop_messages -%}
${ALTERNATE_ROLES}
  {%- if message.role == 'user' -%}
    {%- if loop.first and system_message -%}
      {{- '[INST] ' + system_message + '\n\n' + message.content + ' [/INST]' -}}
    {%- else -%}
      {{- '[INST] ' + message.content + ' [/INST]' -}}
    {%- endif -%}
  {%- else -%}
    {{- ' ' + message.content + ${EOS} -}}
  {%- endif -%}
{%- endfor -%}`.trim(),

  llama3: String.raw`
{{- ${BOS} -}}
{%- for message in messages -%}
  {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + (message.content | trim) + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%}`.trim(),
});

export type PlainTemplateName = keyof typeof PLAIN_TEMPLATES;

/** Default and named chat templates of a tokenizer. */
export interface ChatTemplates {
  /** The template used when none is named (transformers' "default"). */
  default: string | undefined;
  /** All named templates (from the list form of `chat_template` or additional_chat_templates/). */
  named: Record<string, string>;
}

/**
 * Reads tokenizer_config.json's `chat_template`: absent/null, a string, or a list of `{name, template}`
 * (the default is the entry named "default"). A malformed value throws a TokenizerFileError naming `path`.
 */
export function parseChatTemplateField(value: unknown, path: string): ChatTemplates {
  if (value === undefined || value === null) return { default: undefined, named: {} };
  if (typeof value === "string") return { default: value, named: {} };
  if (Array.isArray(value)) {
    const named: Record<string, string> = {};
    for (const item of value) {
      if (!isPlainObject(item) || typeof item.name !== "string" || typeof item.template !== "string") {
        throw new TokenizerFileError(
          path,
          'chat_template list entries must be {"name": string, "template": string}',
        );
      }
      named[item.name] = item.template;
    }
    return { default: named.default, named };
  }
  throw new TokenizerFileError(path, "chat_template must be a string or a list of {name, template} objects");
}

/** What {@link resolveChatTemplate} needs from a tokenizer. */
export interface HasChatTemplates {
  readonly chatTemplate: string | undefined;
  readonly chatTemplates: Readonly<Record<string, string>>;
}

function isPlainTemplateName(name: string): name is PlainTemplateName {
  return Object.hasOwn(PLAIN_TEMPLATES, name);
}

/**
 * The jinja source to render for `tok`:
 * - no name: the tokenizer's default template; throws if it has none (naming the plain templates);
 * - a name: the tokenizer's template of that name, else the {@link PLAIN_TEMPLATES} entry;
 * - a string containing `{{` or `{%`: used as the template itself.
 */
export function resolveChatTemplate(tok: HasChatTemplates, name?: string): string {
  if (name === undefined) {
    if (tok.chatTemplate !== undefined) return tok.chatTemplate;
    throw new ChatTemplateError(
      `this tokenizer has no chat template; name one of the plain templates (${Object.keys(PLAIN_TEMPLATES).join(", ")})`,
    );
  }
  if (Object.hasOwn(tok.chatTemplates, name)) return tok.chatTemplates[name] as string;
  if (isPlainTemplateName(name)) return PLAIN_TEMPLATES[name];
  if (name.includes("{{") || name.includes("{%")) return name;
  const known = [...Object.keys(tok.chatTemplates), ...Object.keys(PLAIN_TEMPLATES)];
  throw new ChatTemplateError(`unknown chat template "${name}" (known: ${known.join(", ")})`);
}

const templateCache = new Map<string, Template>();
const TEMPLATE_CACHE_SIZE = 32;

function compile(source: string): Template {
  const cached = templateCache.get(source);
  if (cached) return cached;
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new ChatTemplateError(`chat template does not parse: ${errorText(error)}`);
  }
  if (templateCache.size >= TEMPLATE_CACHE_SIZE) {
    const oldest = templateCache.keys().next().value;
    if (oldest !== undefined) templateCache.delete(oldest);
  }
  templateCache.set(source, template);
  return template;
}

/** Raised through the template by raise_exception(); carries the template's message unchanged. */
class RaisedByTemplate extends Error {}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime in the C locale, for the directives chat templates use (e.g. "%d %b %Y"). */
export function strftime(date: Date, format: string): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const month = MONTHS[date.getMonth()] ?? "";
  const day = DAYS[date.getDay()] ?? "";
  const hour12 = date.getHours() % 12 === 0 ? 12 : date.getHours() % 12;
  const startOfYear = new Date(date.getFullYear(), 0, 1);
  const dayOfYear = Math.floor((date.getTime() - startOfYear.getTime()) / 86_400_000) + 1;
  return format.replace(/%(-?)([a-zA-Z%])/g, (token, noPad: string, code: string) => {
    const p = (n: number, width = 2) => (noPad ? String(n) : pad(n, width));
    switch (code) {
      case "Y":
        return String(date.getFullYear());
      case "y":
        return pad(date.getFullYear() % 100);
      case "m":
        return p(date.getMonth() + 1);
      case "d":
        return p(date.getDate());
      case "H":
        return p(date.getHours());
      case "I":
        return p(hour12);
      case "M":
        return p(date.getMinutes());
      case "S":
        return p(date.getSeconds());
      case "p":
        return date.getHours() < 12 ? "AM" : "PM";
      case "j":
        return p(dayOfYear, 3);
      case "b":
        return month.slice(0, 3);
      case "B":
        return month;
      case "a":
        return day.slice(0, 3);
      case "A":
        return day;
      case "%":
        return "%";
      default:
        return token;
    }
  });
}

/** Python's range(); one longer than the list limit is refused before it is built. */
function range(budget: TemplateBudget, start: number, stop?: number, step = 1): number[] {
  let from = start;
  let to = stop;
  if (to === undefined) {
    to = from;
    from = 0;
  }
  if (step === 0) throw new Error("range() step must not be zero");
  budget.checkItems(Math.max(0, Math.ceil((to - from) / step)));
  const out: number[] = [];
  if (step > 0) for (let i = from; i < to; i += step) out.push(i);
  else for (let i = from; i > to; i += step) out.push(i);
  return out;
}

/**
 * Renders `source` with `context` (messages, add_generation_prompt, special tokens, ...). Globals are those
 * of @huggingface/jinja's Template.render (true/false/none, range, strftime_now), except that
 * raise_exception throws a ChatTemplateError carrying the template's message; parse and runtime errors
 * also become ChatTemplateErrors. Template.render itself cannot be used: its globals cannot be redeclared.
 * Rendering is bounded by `limits` (steps, characters, time, depth): past one, a TemplateLimitError (a
 * ChatTemplateError) names the limit. Generation, evaluation and the server all render through here.
 */
export function renderChatTemplate(
  source: string,
  context: Record<string, unknown>,
  limits: Readonly<TemplateLimits> = DEFAULT_TEMPLATE_LIMITS,
): string {
  const template = compile(source);
  const budget = new TemplateBudget(limits);
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    range: (start: number, stop?: number, step?: number) => range(budget, start, stop, step),
    strftime_now: (format: unknown) => strftime(new Date(), String(format)),
    raise_exception: (message: unknown): never => {
      throw new RaisedByTemplate(String(message));
    },
  };
  try {
    for (const [key, value] of Object.entries({ ...globals, ...context })) env.set(key, value);
    const text = String(boundedInterpreter(env, budget).run(template.parsed).value);
    budget.checkChars(text.length);
    budget.checkTime();
    return text;
  } catch (error) {
    if (error instanceof TemplateLimitError) throw error;
    if (error instanceof RaisedByTemplate) throw new ChatTemplateError(error.message);
    // V8's own limits, reached inside one library call before a check of ours could run.
    if (error instanceof RangeError && /call stack/i.test(error.message))
      throw new TemplateLimitError("maxDepth", `chat template nested too deeply: ${errorText(error)}`);
    if (error instanceof RangeError && /invalid (string|array) length/i.test(error.message))
      throw new TemplateLimitError("maxChars", `chat template built a value too large: ${errorText(error)}`);
    throw new ChatTemplateError(`chat template failed to render: ${errorText(error)}`);
  }
}
