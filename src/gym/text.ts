// Small text helpers shared by the world's templates and answers.

/** Fills "{name}" placeholders; a placeholder without a value is a bug in a template, so it throws. */
export function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template "${template}" needs a value for {${name}}`);
    return value;
  });
}

/**
 * A template's fixed wording: placeholders reduced to "{}", lower case, single spaces. Two templates with the
 * same skeleton are the same phrasing, whatever their placeholders are called.
 */
export function skeleton(template: string): string {
  return template
    .replace(/\{\w+\}/g, "{}")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Turns a request phrased by the user ("hurt my neighbour", "wash my hands") into the assistant's words
 * ("hurt your neighbour", "wash your hands").
 */
export function secondPerson(phrase: string): string {
  return phrase
    .replace(/\bmyself\b/g, "yourself")
    .replace(/\bmy\b/g, "your")
    .replace(/\bme\b/g, "you")
    .replace(/\bI'm\b/g, "you're")
    .replace(/\bI\b/g, "you");
}

/** Upper-cases the first letter. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Words as the length limits count them (runs of non-space characters). */
export function wordCount(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}
