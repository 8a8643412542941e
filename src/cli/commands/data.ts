// `safetune data mix | split | stats`: build SIT mixtures, split by unique prompt, and check datasets.
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DataError } from "../../data/errors.js";
import { type FileStats, fileStats } from "../../data/fileStats.js";
import { MAPPING_HELP, MAPPING_NAMES } from "../../data/mappings.js";
import { mixFiles } from "../../data/mixFiles.js";
import { type PromptFile, parseRowFilter, type RowFilter, readPromptFile } from "../../data/promptFile.js";
import { SPLIT_NAMES, splitFiles } from "../../data/splitFiles.js";
import type { LengthSummary } from "../../data/stats.js";
import { countKinds, manifestPathFor, writeManifest, writeRecordsJsonl } from "../../data/writeRecords.js";
import { REQUEST_FRAME, requestSafetyPairs } from "../../serve/guards/requestClassifier.js";
import { loadTokenizer } from "../../tokenize/tokenizer.js";
import { type OptionSpec, optionalNumber, type ParsedFlags, requireString } from "../args.js";
import { UsageError } from "../errors.js";

const FORMATS =
  "Files: .jsonl, .json (a list of records or an object of columns), .csv, .parquet; each may be .gz.";

/** `parts` joined by `separator` in lines of at most `width` characters, later lines indented by `indent`. */
function wrapParts(parts: readonly string[], separator: string, indent: number, width = 104): string {
  const lines: string[] = [];
  let line = "";
  for (const part of parts) {
    if (line && indent + line.length + separator.length + part.length > width) {
      lines.push(line + separator.trimEnd());
      line = part;
    } else line = line ? `${line}${separator}${part}` : part;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function wrap(text: string, indent: number): string {
  return wrapParts(text.split(/\s+/), " ", indent);
}

const MAPPINGS = `Mappings (--mapping; detected from the first row's fields when not given):
${MAPPING_NAMES.map((name) => `  ${name.padEnd(22)}${wrap(MAPPING_HELP[name], 24)}`).join("\n")}
  KIND:KEY=FIELD,...    other field names, e.g. preference:prompt=question,chosen=good,rejected=bad
                        (KIND: instruction, chat, preference, prompt, labelled; or the same as JSON)`;

export const dataMixHelp = `safetune data mix --base FILE --safety FILE (--count N | --fraction F) --out FILE.jsonl [options]

Builds a safety-instruction-tuning mixture: the base instruction data plus N safety demonstrations drawn
with a seed, de-duplicated by normalised prompt and answer, shuffled, written as JSONL (safetune records,
readable back by every data command) with FILE.manifest.json listing the sources, options and counts.

  --base FILE             instruction data (repeatable: the files are concatenated)
  --base-mapping M        mapping for the base files
  --safety FILE           safety demonstrations (repeatable)
  --safety-mapping M      mapping for the safety files
  --count N               add N safety records
  --fraction F            add F x (base records) safety records, e.g. 0.05
  --seed S                seed for the draw and the shuffle (default 0); the same seed gives nested
                          mixtures (the 100-record draw is part of the 300-record one)
  --no-shuffle            keep the base records in order, then the safety records
  --out FILE.jsonl        where to write the mixture
  --skip-invalid          skip bad rows (counted in the summary) instead of stopping at the first
  --verbose               show stack traces on errors

${FORMATS}`;

export const dataSplitHelp = `safetune data split FILE... --eval F --test F --out DIR [options]

Splits records into DIR/train.jsonl, eval.jsonl and test.jsonl (plus DIR/manifest.json) so that all
records with the same normalised prompt land in the same split: no prompt crosses train/eval/test.
Several files are pooled first (e.g. to re-split subsets whose prompts overlap).

  --eval F                fraction of the records for eval, in [0, 1)
  --test F                fraction of the records for test, in [0, 1)
  --seed S                seed for the order in which prompts are assigned (default 0)
  --mapping M             mapping for the input files (default: detected)
  --out DIR               output folder (created; the three files and manifest.json are replaced)
  --skip-invalid          skip bad rows (counted in the summary) instead of stopping at the first
  --verbose               show stack traces on errors

${FORMATS}`;

export const dataStatsHelp = `safetune data stats FILE... [options]

Per file: records by kind and category, unique and repeated prompts, duplicate records, and lengths
(characters, or tokens with --tokenizer) of prompts and answers. For two or more files: the unique prompts
each pair shares (train/eval leakage), counting the prompts of skipped rows too.

  --mapping M             mapping for every file (default: detected per file)
  --tokenizer DIR         measure lengths in tokens of this tokenizer folder (tokenizer.json)
  --json                  print one JSON object instead of text
  --skip-invalid          skip bad rows (counted in the summary) instead of stopping at the first
  --verbose               show stack traces on errors

${FORMATS}`;

export const dataRequestPairsHelp = `safetune data request-pairs --harmful FILE --benign FILE --out FILE.jsonl [options]

Builds the training pairs of a request classifier (an input guard that judges a request before it is
answered; docs/guards.md): each pair puts a benign request (chosen, safe) and a harmful one (rejected,
unsafe) as answers to the fixed prompt "${REQUEST_FRAME}". Prompts are de-duplicated and shuffled with
the seed; the shorter list is cycled so every prompt is used. Train the classifier with
safetune reward --objective cost --data FILE.jsonl, and guard with frame: request in guard.yaml.

  --harmful FILE          harmful prompts (repeatable: the files are pooled)
  --benign FILE           benign prompts (repeatable)
  --field NAME[,NAME...]  the prompt's field: the first of these a file has, e.g. goal,prompt for
                          AdvBench and XSTest (default, and for files with none of them: the
                          detected mapping's prompt, e.g. instruction + input)
  --harmful-where F=V     keep only rows of harmful files whose field F is V, e.g. label=unsafe
                          (files without the field are taken whole; at least one must have it)
  --benign-where F=V      the same for the benign files
  --seed S                seed for the shuffle (default 0)
  --out FILE.jsonl        where to write the pairs (safetune preference records with safety labels)
  --skip-invalid          skip bad rows (counted in the summary) instead of stopping at the first
  --verbose               show stack traces on errors

${FORMATS}`;

export const dataHelp = `safetune data <mix | split | stats | request-pairs> [options]   (safetune data <subcommand> --help)

Builds and checks training data.

  mix            instruction data plus N safety demonstrations (SIT mixture), seeded and de-duplicated
  split          train/eval/test split by unique prompt, so that no prompt crosses splits
  stats          counts, lengths, duplicates, and prompt overlap between files
  request-pairs  harmful vs benign requests as cost-model pairs, for a request classifier (input guard)

${FORMATS}

${MAPPINGS}`;

const SUBCOMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; help: string }> = {
  mix: { run: dataMix, help: dataMixHelp },
  split: { run: dataSplit, help: dataSplitHelp },
  stats: { run: dataStats, help: dataStatsHelp },
  "request-pairs": { run: dataRequestPairs, help: dataRequestPairsHelp },
};

export async function dataCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined)
    throw new UsageError(
      "data: give a subcommand: mix, split, stats or request-pairs (see safetune data --help)",
    );
  if (sub === "--help" || sub === "-h" || sub === "help") {
    console.log(dataHelp);
    return;
  }
  const command = SUBCOMMANDS[sub];
  if (!command)
    throw new UsageError(
      `data: unknown subcommand '${sub}' (mix, split, stats, request-pairs; see safetune data --help)`,
    );
  await command.run(rest);
}

/** parseCommandArgs with positional arguments allowed. */
function parseDataArgs<T extends OptionSpec>(
  argv: string[],
  options: T,
  command: string,
): { values: ParsedFlags<T & { "skip-invalid": { type: "boolean" } }>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        ...options,
        "skip-invalid": { type: "boolean" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    return {
      values: parsed.values as ParsedFlags<T & { "skip-invalid": { type: "boolean" } }>,
      positionals: parsed.positionals,
    };
  } catch (err) {
    throw new UsageError(
      `${command}: ${(err as Error).message.split("\n")[0]} (see safetune ${command} --help)`,
    );
  }
}

function n(value: number): string {
  return value.toLocaleString("en-US");
}

function plural(count: number, word: string): string {
  return `${n(count)} ${word}${count === 1 ? "" : "s"}`;
}

function skippedNote(dropped: { skipped: number; filtered: number }): string {
  const parts = [`${plural(dropped.skipped, "invalid row")} skipped`];
  if (dropped.filtered) parts.push(`${plural(dropped.filtered, "row")} left out by the mapping`);
  return parts.join(", ");
}

function fileList(values: string[] | undefined, flag: string, command: string): string[] {
  if (!values || values.length === 0)
    throw new UsageError(`${command}: --${flag} is required (see safetune ${command} --help)`);
  return values;
}

async function dataMix(argv: string[]): Promise<void> {
  const command = "data mix";
  const { values, positionals } = parseDataArgs(
    argv,
    {
      base: { type: "string", multiple: true },
      "base-mapping": { type: "string" },
      safety: { type: "string", multiple: true },
      "safety-mapping": { type: "string" },
      count: { type: "string" },
      fraction: { type: "string" },
      seed: { type: "string" },
      "no-shuffle": { type: "boolean" },
      out: { type: "string" },
    },
    command,
  );
  if (values.help) {
    console.log(dataMixHelp);
    return;
  }
  if (positionals.length)
    throw new UsageError(`${command}: unexpected argument '${positionals[0]}' (use --base and --safety)`);
  const basePaths = fileList(values.base, "base", command);
  const safetyPaths = fileList(values.safety, "safety", command);
  const out = requireString(values.out, "out", command);
  if (!/\.jsonl$/i.test(out)) throw new UsageError(`${command}: --out must be a .jsonl file, got '${out}'`);
  const count = optionalNumber(values.count, "count", { integer: true, min: 0 });
  const fraction = optionalNumber(values.fraction, "fraction", { min: 0 });
  if ((count === undefined) === (fraction === undefined))
    throw new UsageError(`${command}: give exactly one of --count N or --fraction F`);
  const seed = optionalNumber(values.seed, "seed", { integer: true, min: 0 }) ?? 0;
  const skipInvalid = values["skip-invalid"] === true;

  const { mix, manifestPath, dropped } = await mixFiles({
    base: basePaths,
    baseMapping: values["base-mapping"],
    safety: safetyPaths,
    safetyMapping: values["safety-mapping"],
    count,
    fraction,
    seed,
    shuffle: values["no-shuffle"] !== true,
    skipInvalid,
    out,
  });
  console.log(
    `${command}: wrote ${out}: ${plural(mix.records.length, "record")} ` +
      `(${n(mix.base.used)} base + ${n(mix.extra.used)} safety; seed ${seed})`,
  );
  console.log(
    `  base: ${n(mix.base.given)} records, ${plural(mix.base.duplicates, "duplicate")} dropped; ` +
      `safety: ${n(mix.extra.given)} records, ${plural(mix.extra.duplicates, "duplicate")} dropped, ` +
      `${n(mix.extra.available)} unique available`,
  );
  console.log(`  ${skippedNote(dropped)}; manifest ${manifestPath}`);
}

async function dataSplit(argv: string[]): Promise<void> {
  const command = "data split";
  const { values, positionals } = parseDataArgs(
    argv,
    {
      mapping: { type: "string" },
      eval: { type: "string" },
      test: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
    },
    command,
  );
  if (values.help) {
    console.log(dataSplitHelp);
    return;
  }
  if (positionals.length === 0)
    throw new UsageError(`${command}: give the FILE to split (see safetune ${command} --help)`);
  const out = requireString(values.out, "out", command);
  const evalFraction = optionalNumber(requireString(values.eval, "eval", command), "eval", {
    min: 0,
    max: 1,
  }) as number;
  const testFraction = optionalNumber(requireString(values.test, "test", command), "test", {
    min: 0,
    max: 1,
  }) as number;
  const seed = optionalNumber(values.seed, "seed", { integer: true, min: 0 }) ?? 0;
  const skipInvalid = values["skip-invalid"] === true;

  const { split, crossing, dropped } = await splitFiles({
    paths: positionals,
    mapping: values.mapping,
    eval: evalFraction,
    test: testFraction,
    seed,
    skipInvalid,
    out,
  });
  console.log(`${command}: wrote ${join(out, "{train,eval,test}.jsonl")} and manifest.json (seed ${seed})`);
  for (const name of SPLIT_NAMES) {
    console.log(
      `  ${name.padEnd(5)} ${plural(split[name].length, "record").padEnd(16)} ${plural(split.prompts[name], "unique prompt")}`,
    );
  }
  console.log(`  ${skippedNote(dropped)}; prompts crossing splits: ${crossing}`);
}

async function dataStats(argv: string[]): Promise<void> {
  const command = "data stats";
  const { values, positionals } = parseDataArgs(
    argv,
    { mapping: { type: "string" }, tokenizer: { type: "string" }, json: { type: "boolean" } },
    command,
  );
  if (values.help) {
    console.log(dataStatsHelp);
    return;
  }
  if (positionals.length === 0)
    throw new UsageError(`${command}: give one or more FILEs (see safetune ${command} --help)`);
  const skipInvalid = values["skip-invalid"] === true;
  const tokenizer = values.tokenizer === undefined ? undefined : await loadTokenizer(values.tokenizer);
  const { files, overlaps } = await fileStats(positionals, {
    mapping: values.mapping,
    skipInvalid,
    ...(tokenizer === undefined ? {} : { tokenizer }),
  });
  if (values.json) {
    console.log(JSON.stringify({ files, overlaps }, null, 2));
    return;
  }
  for (const f of files) printFileStats(f);
  if (overlaps.length) {
    console.log("prompt overlap (unique normalised prompts in both files):");
    for (const o of overlaps) {
      console.log(
        `  ${basename(o.a)} & ${basename(o.b)}: ${n(o.shared)} shared prompts ` +
          `(${percent(o.shared, o.aPrompts)} of ${n(o.aPrompts)}; ${percent(o.shared, o.bPrompts)} of ${n(o.bPrompts)}); ` +
          `${n(o.aRecords)} and ${n(o.bRecords)} records`,
      );
    }
  }
}

function percent(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : "0%";
}

function counts(map: Record<string, number>, indent: number): string {
  const parts = Object.entries(map)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${n(v)}`);
  return wrapParts(parts, ", ", indent);
}

function lengthLine(name: string, s: LengthSummary): string {
  return `${name} p50 ${n(s.p50)}, p90 ${n(s.p90)}, p99 ${n(s.p99)}, max ${n(s.max)} (mean ${s.mean})`;
}

function printFileStats(f: FileStats): void {
  const s = f.stats;
  console.log(`${f.path} (${f.mapping})`);
  let line = `  ${plural(s.records, "record")} from ${plural(f.rows, "row")}; ${plural(f.skipped, "invalid row")} skipped`;
  if (f.filtered) line += `; ${plural(f.filtered, "row")} left out by the mapping`;
  console.log(line);
  for (const p of f.firstProblems) console.log(`    ${p}`);
  console.log(`  kinds: ${counts(s.byKind, 4) || "none"}`);
  if (Object.keys(s.byCategory).length) console.log(`  categories: ${counts(s.byCategory, 4)}`);
  console.log(
    `  prompts: ${n(s.uniquePrompts)} unique, ${n(s.repeatedPrompts)} records repeat an earlier prompt; ` +
      `${plural(s.duplicateRecords, "duplicate record")}`,
  );
  console.log(`  lengths in ${s.lengthUnit}:`);
  for (const [part, summary] of Object.entries(s.lengths))
    if (summary.count) console.log(`    ${lengthLine(part, summary)}`);
}

function rowFilter(text: string | undefined, flag: string, command: string): RowFilter | undefined {
  if (text === undefined) return undefined;
  const filter = parseRowFilter(text);
  if (!filter) throw new UsageError(`${command}: --${flag} must be FIELD=VALUE, got '${text}'`);
  return filter;
}

const REQUEST_PAIRS_COMMAND = "data request-pairs";

/**
 * `data request-pairs`, top to bottom: read the harmful and benign prompt files, pair each harmful request with a
 * benign one in the request frame, write the pairs and their manifest, and say what was written.
 */
async function dataRequestPairs(argv: string[]): Promise<void> {
  const args = requestPairsArgs(argv);
  if (!args) return console.log(dataRequestPairsHelp);
  const harmful = await readRolePrompts("harmful", args);
  const benign = await readRolePrompts("benign", args);
  let pairs: ReturnType<typeof requestSafetyPairs>;
  try {
    pairs = requestSafetyPairs(
      harmful.flatMap((f) => f.prompts),
      benign.flatMap((f) => f.prompts),
      args.seed,
    );
  } catch (err) {
    throw new DataError(
      `${REQUEST_PAIRS_COMMAND}: ${(err as Error).message.replace(/^requestSafetyPairs: /, "")}`,
    );
  }
  writeRecordsJsonl(args.out, pairs);
  const unique = {
    harmful: new Set(pairs.map((p) => p.rejected[0]?.content)).size,
    benign: new Set(pairs.map((p) => p.chosen[0]?.content)).size,
  };
  const files = [...harmful, ...benign];
  const manifestPath = manifestPathFor(args.out);
  writeManifest(manifestPath, {
    command: REQUEST_PAIRS_COMMAND,
    createdAt: new Date().toISOString(),
    seed: args.seed,
    options: {
      frame: REQUEST_FRAME,
      fields: args.fields,
      harmfulWhere: args.where.harmful,
      benignWhere: args.where.benign,
      skipInvalid: args.skipInvalid,
    },
    sources: files.map((f) => f.source),
    outputs: [{ path: resolve(args.out), records: pairs.length, byKind: countKinds(pairs) }],
    counts: { harmfulPrompts: unique.harmful, benignPrompts: unique.benign },
  });
  const skipped = files.reduce((a, f) => a + f.source.skipped, 0);
  const filtered = files.reduce((a, f) => a + f.source.filtered, 0);
  console.log(
    `${REQUEST_PAIRS_COMMAND}: wrote ${args.out}: ${plural(pairs.length, "pair")} from ${n(unique.harmful)} harmful and ` +
      `${n(unique.benign)} benign unique prompts (seed ${args.seed})`,
  );
  console.log(
    `  ${plural(skipped, "invalid row")} skipped, ${plural(filtered, "row")} left out by --*-where or the mapping; ` +
      `manifest ${manifestPath}`,
  );
}

interface RequestPairsArgs {
  paths: Record<"harmful" | "benign", string[]>;
  /** --ROLE-where FIELD=VALUE, as written. */
  where: Record<"harmful" | "benign", string | undefined>;
  out: string;
  seed: number;
  fields: string[];
  skipInvalid: boolean;
}

/** The command's flags, checked; undefined when --help asks for the help text. */
function requestPairsArgs(argv: string[]): RequestPairsArgs | undefined {
  const command = REQUEST_PAIRS_COMMAND;
  const { values, positionals } = parseDataArgs(
    argv,
    {
      harmful: { type: "string", multiple: true },
      benign: { type: "string", multiple: true },
      field: { type: "string" },
      "harmful-where": { type: "string" },
      "benign-where": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
    },
    command,
  );
  if (values.help) return undefined;
  if (positionals.length)
    throw new UsageError(`${command}: unexpected argument '${positionals[0]}' (use --harmful and --benign)`);
  const paths = {
    harmful: fileList(values.harmful, "harmful", command),
    benign: fileList(values.benign, "benign", command),
  };
  const out = requireString(values.out, "out", command);
  if (!/\.jsonl$/i.test(out)) throw new UsageError(`${command}: --out must be a .jsonl file, got '${out}'`);
  return {
    paths,
    where: { harmful: values["harmful-where"], benign: values["benign-where"] },
    out,
    seed: optionalNumber(values.seed, "seed", { integer: true, min: 0 }) ?? 0,
    fields: (values.field ?? "")
      .split(",")
      .map((f) => f.trim())
      .filter((f) => f !== ""),
    skipInvalid: values["skip-invalid"] === true,
  };
}

/**
 * One role's prompt files (`--harmful` or `--benign`), each row filtered by `--ROLE-where`; a filter whose field
 * no file of the role has is a usage error, not an empty result.
 */
async function readRolePrompts(role: "harmful" | "benign", args: RequestPairsArgs): Promise<PromptFile[]> {
  const flag = `${role}-where`;
  const filter = rowFilter(args.where[role], flag, REQUEST_PAIRS_COMMAND);
  const files: PromptFile[] = [];
  for (const path of args.paths[role])
    files.push(await readPromptFile(path, role, args.fields, filter, args.skipInvalid));
  if (filter && !files.some((f) => f.hadFilterField))
    throw new UsageError(
      `${REQUEST_PAIRS_COMMAND}: --${flag}: no ${role} file has a field "${filter.field}"`,
    );
  return files;
}
