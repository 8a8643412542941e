// Attack templates: data files under attacks/ at the package root (shipped), each with its source and licence.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { EvaluationError } from "../errors.js";

/** The folder of the shipped template files (the same path from src/ and from dist/). */
export const ATTACK_TEMPLATE_DIR = fileURLToPath(new URL("../../../attacks/", import.meta.url));

const TurnSchema = z.object({ role: z.enum(["user", "assistant"]), content: z.string().min(1) }).strict();

export const AttackTemplateSchema = z
  .object({
    /** The attack the file belongs to (its file name without .json). */
    attack: z.string().min(1),
    /** Who wrote the wording, and the technique's published origin. */
    source: z.string().min(1),
    licence: z.string().min(1),
    about: z.string().min(1),
    /** The user turn, with {request} (or {encoded}, {assignments}, {concatenation}) slots. */
    template: z.string().min(1).optional(),
    /** Fragments the request is cut into (payload splitting). */
    pieces: z.number().int().min(2).optional(),
    /** Compliant user/assistant demonstrations before the request (few-shot). */
    demonstrations: z.array(z.object({ user: z.string().min(1), assistant: z.string().min(1) })).optional(),
    /** The final user turn after the demonstrations (few-shot). */
    final: z.string().min(1).optional(),
    /** A whole scripted conversation ending with a user turn (multi-turn). */
    turns: z.array(TurnSchema).min(1).optional(),
  })
  .strict();

export type AttackTemplate = z.infer<typeof AttackTemplateSchema>;

/** Reads and checks `NAME.json`; errors name the file and the field. */
export function loadAttackTemplate(name: string, dir: string = ATTACK_TEMPLATE_DIR): AttackTemplate {
  const file = `${dir}${dir.endsWith("/") ? "" : "/"}${name}.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new EvaluationError(`${file}: cannot read the attack template (${(err as Error).message})`);
  }
  const parsed = AttackTemplateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EvaluationError(`${file}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  if (parsed.data.attack !== name)
    throw new EvaluationError(`${file}: attack: expected "${name}", got "${parsed.data.attack}"`);
  return parsed.data;
}

/** A required field of a template, or an error naming the file's attack and the field. */
export function required<K extends keyof AttackTemplate>(
  t: AttackTemplate,
  key: K,
): NonNullable<AttackTemplate[K]> {
  const value = t[key];
  if (value === undefined)
    throw new EvaluationError(`attacks/${t.attack}.json: ${String(key)}: required by this attack`);
  return value as NonNullable<AttackTemplate[K]>;
}
