// One request-validation failure (a zod issue) as the one-line message and param OpenAI would send: the field's
// name, what was expected and what was sent ("Invalid type for 'max_tokens': expected an integer, but got a string
// instead."). The value is read from the body itself: zod does not report inputs unless asked, and a field that
// was sent with a wrong type must not read as missing.
import type { z } from "zod";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** A zod path as OpenAI names params: messages[0].role */
export function paramName(path: Path): string {
  return path.reduce<string>(
    (name, key) =>
      typeof key === "number" ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key),
    "",
  );
}

/** The value at `path` inside `body`, or undefined when the path does not exist. */
export function valueAt(body: unknown, path: Path): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
  null: "null",
};

/** What was sent, in a few words: a string ("abc"), an array, null, 3.5. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  switch (typeof value) {
    case "string":
      return `a string (${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)})`;
    case "number":
      return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
    case "boolean":
      return `a boolean (${value})`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

function expectedText(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

/** Alternatives a union accepts, when every branch failed on the value's type itself. */
function unionExpectations(branches: readonly (readonly Issue[])[]): string[] | undefined {
  const expected: string[] = [];
  for (const issues of branches) {
    const first = issues[0];
    if (issues.length !== 1 || first?.code !== "invalid_type" || first.path.length > 0) return undefined;
    expected.push(expectedText(first.expected));
  }
  return expected;
}

function bound(issue: Extract<Issue, { code: "too_small" | "too_big" }>): string {
  const small = issue.code === "too_small";
  const limit = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "array":
    case "set":
      return `${small ? "at least" : "at most"} ${limit} item${limit === 1 ? "" : "s"}`;
    case "string":
      return `${small ? "at least" : "at most"} ${limit} character${limit === 1 ? "" : "s"}`;
    default:
      return `a value ${small ? ">" : "<"}${inclusive ? "=" : ""} ${limit}`;
  }
}

/**
 * The message and param for the first issue zod found in `body`. Unions (a string or a list of parts) are
 * explained through the branch that matched the value's type, so a bad content part names its own field.
 */
export function validationMessage(
  issue: Issue,
  body: unknown,
  prefix: Path = [],
): { message: string; param: string } {
  const path = [...prefix, ...issue.path];
  const param = paramName(path);
  const value = valueAt(body, path);
  if (value === undefined && issue.code !== "unrecognized_keys")
    return { message: `Missing required parameter: '${param}'.`, param };
  switch (issue.code) {
    case "invalid_type":
      return {
        message: `Invalid type for '${param}': expected ${expectedText(issue.expected)}, but got ${describeValue(value)} instead.`,
        param,
      };
    case "invalid_union": {
      const expected = unionExpectations(issue.errors);
      if (expected)
        return {
          message: `Invalid type for '${param}': expected ${expected.join(" or ")}, but got ${describeValue(value)} instead.`,
          param,
        };
      // The branch whose type matched went wrong further in: explain that branch's first problem.
      const branch = issue.errors.find((issues) => !unionExpectations([issues]));
      const inner = branch?.[0];
      if (inner) return validationMessage(inner, body, path);
      return { message: `Invalid value for '${param}': ${issue.message}`, param };
    }
    case "too_small":
    case "too_big": {
      const got = Array.isArray(value)
        ? `${value.length} item${value.length === 1 ? "" : "s"}`
        : describeValue(value);
      return { message: `Invalid '${param}': expected ${bound(issue)}, but got ${got} instead.`, param };
    }
    case "invalid_value":
      return {
        message: `Invalid value for '${param}': expected ${issue.values.map((v) => `'${String(v)}'`).join(", ")}, but got ${describeValue(value)} instead.`,
        param,
      };
    case "unrecognized_keys": {
      const where = paramName([...path, issue.keys[0] ?? ""]);
      return { message: `Unrecognized request argument supplied: ${where}`, param: where };
    }
    default:
      return { message: `Invalid value for '${param}': ${issue.message}`, param };
  }
}
