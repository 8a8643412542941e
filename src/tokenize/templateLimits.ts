/**
 * Limits on rendering an untrusted chat template. @huggingface/jinja has none of its own: a template's loops,
 * string growth and recursion are bounded here by wrapping the interpreter's evaluation methods, so
 * `range(10000000)` or nested loops stop with a one-line TemplateLimitError instead of hanging or crashing V8.
 */
import { Interpreter } from "@huggingface/jinja";
import { ChatTemplateError } from "./chatTemplateError.js";

export interface TemplateLimits {
  /** Evaluation steps (one per expression or statement evaluated, and one per block, loop bodies included). */
  maxSteps: number;
  /** Characters in any one string the template builds, its output included. */
  maxChars: number;
  /** Items in any one list the template builds (range() included). */
  maxItems: number;
  /** Wall-clock milliseconds for one render. */
  maxMillis: number;
  /** Nesting depth of evaluation (recursive macros). */
  maxDepth: number;
}

/**
 * Generous for real chat templates (a 100-turn conversation with a tool-calling template takes ~10^4 steps and
 * a few milliseconds); small enough that a hostile template stops within a few seconds. The interpreter needs
 * ~14 µs per loop iteration (a fresh scope each), so time is usually the limit a runaway loop meets first.
 */
export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxSteps: 2_000_000,
  maxChars: 16_000_000,
  maxItems: 100_000,
  maxMillis: 2_000,
  maxDepth: 400,
});

/** A chat template went past one of its limits; `limit` names which (for per-request error mapping). */
export class TemplateLimitError extends ChatTemplateError {
  override readonly name = "TemplateLimitError";
  readonly code = "template_limit";
  constructor(
    readonly limit: keyof TemplateLimits,
    message: string,
  ) {
    super(message);
  }
}

/** The interpreter methods wrapped below (private in the library's typings, called through `this`). */
interface InterpreterInternals {
  evaluate(statement: unknown, environment: unknown): unknown;
  evaluateBlock(statements: unknown[], environment: unknown): unknown;
  evaluateArguments(args: unknown[], environment: unknown): [unknown[], Map<string, unknown>];
}

/** The JS value inside a runtime value. */
function innerOf(value: unknown): unknown {
  return (value as { value?: unknown } | undefined)?.value;
}

/** Counts the work of one render and throws TemplateLimitError past a limit. */
export class TemplateBudget {
  #steps = 0;
  #depth = 0;
  readonly #deadline: number;
  constructor(readonly limits: Readonly<TemplateLimits> = DEFAULT_TEMPLATE_LIMITS) {
    this.#deadline = performance.now() + limits.maxMillis;
  }

  step(): void {
    this.#steps++;
    if (this.#steps > this.limits.maxSteps)
      throw new TemplateLimitError(
        "maxSteps",
        `chat template exceeded ${this.limits.maxSteps} evaluation steps (a loop too long for a chat template)`,
      );
    if ((this.#steps & 1023) === 0) this.checkTime();
  }

  checkTime(): void {
    if (performance.now() > this.#deadline)
      throw new TemplateLimitError(
        "maxMillis",
        `chat template rendering exceeded ${this.limits.maxMillis} ms`,
      );
  }

  enter(): void {
    if (++this.#depth > this.limits.maxDepth)
      throw new TemplateLimitError(
        "maxDepth",
        `chat template nested deeper than ${this.limits.maxDepth} levels (runaway recursion)`,
      );
  }

  leave(): void {
    this.#depth--;
  }

  /** Refuses a string longer than maxChars or a list longer than maxItems. */
  checkValue(value: unknown): void {
    const inner = innerOf(value);
    if (typeof inner === "string") this.checkChars(inner.length);
    else if (Array.isArray(inner)) this.checkItems(inner.length);
  }

  checkChars(n: number): void {
    if (n > this.limits.maxChars)
      throw new TemplateLimitError(
        "maxChars",
        `chat template built a string of ${n} characters (limit ${this.limits.maxChars})`,
      );
  }

  checkItems(n: number): void {
    if (!(n <= this.limits.maxItems))
      throw new TemplateLimitError(
        "maxItems",
        `chat template built a list of ${n} items (limit ${this.limits.maxItems})`,
      );
  }

  /** Refuses an integer argument that would make a filter or function build a value past maxChars. */
  checkArgument(value: unknown): void {
    const inner = innerOf(value);
    if (typeof inner === "number" && Math.abs(inner) > this.limits.maxChars)
      throw new TemplateLimitError(
        "maxChars",
        `chat template passed ${inner} to a function or filter (limit ${this.limits.maxChars}, the most characters a string may have)`,
      );
  }
}

/** An interpreter whose every evaluation is counted against `budget`. */
export function boundedInterpreter(
  env: ConstructorParameters<typeof Interpreter>[0],
  budget: TemplateBudget,
) {
  const interpreter = new Interpreter(env);
  const self = interpreter as unknown as InterpreterInternals;
  const evaluate = self.evaluate.bind(interpreter);
  const evaluateBlock = self.evaluateBlock.bind(interpreter);
  const evaluateArguments = self.evaluateArguments.bind(interpreter);
  self.evaluate = (statement, environment) => {
    budget.step();
    budget.enter();
    try {
      const result = evaluate(statement, environment);
      budget.checkValue(result);
      return result;
    } finally {
      budget.leave();
    }
  };
  self.evaluateBlock = (statements, environment) => {
    budget.step();
    const result = evaluateBlock(statements, environment);
    budget.checkValue(result);
    return result;
  };
  self.evaluateArguments = (args, environment) => {
    const [positional, keyword] = evaluateArguments(args, environment);
    for (const value of positional) budget.checkArgument(value);
    for (const value of keyword.values()) budget.checkArgument(value);
    return [positional, keyword];
  };
  return interpreter;
}
