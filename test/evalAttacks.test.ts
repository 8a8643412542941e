// Attacks as benchmark transforms: each attack keeps the request recoverable, keeps earlier turns, ends with a
// user turn; encoders and decoders invert each other; templates are checked; benchmarks gain attacked copies.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { applyAttacks, attackedName } from "../src/eval/attacks/applyAttacks.js";
import { decodeBase64Runs, encodeBase64 } from "../src/eval/attacks/base64.js";
import { englishScore } from "../src/eval/attacks/englishScore.js";
import { judgedText } from "../src/eval/attacks/judgedText.js";
import { fromLeetspeak, toLeetspeak } from "../src/eval/attacks/leetspeak.js";
import { splitPayload } from "../src/eval/attacks/payloadSplitting.js";
import { ATTACK_NAMES, findAttack, parseAttackList } from "../src/eval/attacks/registry.js";
import { rot13Text } from "../src/eval/attacks/rot13.js";
import { ATTACK_TEMPLATE_DIR, loadAttackTemplate } from "../src/eval/attacks/templates.js";
import type { Benchmark } from "../src/eval/types.js";

const REQUEST = "Explain how to bake a loaf of sourdough bread at home";
const PROMPT = [{ role: "user", content: REQUEST }];

/** The request as the attacked conversation carries it, undoing the attack's own encoding. */
function recovered(name: string, text: string): string {
  if (name === "base64") return decodeBase64Runs(text);
  if (name === "rot13") return rot13Text(text);
  if (name === "leetspeak") return fromLeetspeak(text);
  if (name === "payload-splitting") {
    const parts = [...text.matchAll(/^[a-z] = (".*")$/gm)].map((m) => JSON.parse(m[1] as string) as string);
    return parts.join("");
  }
  return text;
}

describe("every attack", () => {
  for (const name of ATTACK_NAMES) {
    test(`${name}: ends with a user turn, changes the prompt, and carries the request`, () => {
      const attack = findAttack(name);
      assert.ok(attack, name);
      const out = attack.apply(PROMPT);
      assert.equal(out[out.length - 1]?.role, "user");
      assert.notDeepEqual(out, PROMPT);
      const all = out.map((m) => m.content).join("\n");
      assert.ok(
        recovered(name, all).toLowerCase().includes(REQUEST.toLowerCase()),
        `${name}: the request is recoverable from ${JSON.stringify(all.slice(0, 200))}`,
      );
      assert.deepEqual(PROMPT, [{ role: "user", content: REQUEST }], "the input is not modified");
    });
    test(`${name}: a system message and earlier turns stay in front`, () => {
      const history = [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
      ];
      const out = findAttack(name)?.apply([...history, { role: "user", content: REQUEST }]) ?? [];
      assert.deepEqual(out.slice(0, 3), history);
      assert.ok(out.length > 3);
    });
  }

  test("encodings hide the request's words; wrappers keep them verbatim", () => {
    for (const name of ATTACK_NAMES) {
      const text = (findAttack(name)?.apply(PROMPT) ?? []).map((m) => m.content).join("\n");
      const hidden = ["base64", "rot13", "leetspeak", "payload-splitting"].includes(name);
      assert.equal(!text.includes(REQUEST), hidden, name);
    }
  });

  test("few-shot and multi-turn give several turns with assistant turns before the request", () => {
    for (const name of ["few-shot", "multi-turn"]) {
      const out = findAttack(name)?.apply(PROMPT) ?? [];
      assert.ok(out.length >= 5, name);
      assert.ok(
        out.slice(0, -1).some((m) => m.role === "assistant"),
        name,
      );
    }
  });
});

describe("encoders and decoders", () => {
  const texts = [REQUEST, "Line one.\nLine two, with 3 numbers: 42 and 7!", "Ünïcödé façade — ok"];
  test("base64: decoding the answer inverts the encoding, and plain English is left alone", () => {
    for (const t of texts) assert.equal(decodeBase64Runs(encodeBase64(t)), t);
    const plain = "Internationalization notwithstanding, the answer stays exactly as written here.";
    assert.equal(decodeBase64Runs(plain), plain);
    assert.equal(decodeBase64Runs(`Sure: ${encodeBase64(REQUEST)}`), `Sure: ${REQUEST}`);
  });
  test("rot13 is its own inverse and the decoder picks the reading that is English", () => {
    for (const t of texts) assert.equal(rot13Text(rot13Text(t)), t);
    assert.notEqual(rot13Text(REQUEST), REQUEST);
    const rot13 = findAttack("rot13");
    assert.equal(rot13?.decode?.(rot13Text(REQUEST)), REQUEST);
    assert.equal(rot13?.decode?.(REQUEST), REQUEST, "an answer in plain English stays as it is");
    assert.ok(englishScore(REQUEST) > englishScore(rot13Text(REQUEST)));
  });
  test("leetspeak: digits inside words map back; numbers standing alone stay", () => {
    const lower = REQUEST.toLowerCase();
    assert.equal(fromLeetspeak(toLeetspeak(lower)), lower);
    assert.notEqual(toLeetspeak(lower), lower);
    assert.equal(fromLeetspeak("Use 2 cups and wait 45 minutes"), "Use 2 cups and wait 45 minutes");
  });
  test("judgedText decodes only for attacks with a decoder", () => {
    const encoded = encodeBase64(REQUEST);
    assert.equal(judgedText("base64", encoded), REQUEST);
    assert.equal(judgedText("persona", encoded), encoded);
    assert.equal(judgedText(undefined, encoded), encoded);
    assert.equal(judgedText("jbb:PAIR:vicuna-13b-v1.5", encoded), encoded);
  });
  test("payload splitting: the pieces join back exactly, cut inside the longest words", () => {
    for (const pieces of [2, 3, 5]) {
      const parts = splitPayload(REQUEST, pieces);
      assert.equal(parts.join(""), REQUEST);
      assert.equal(parts.length, pieces);
      assert.ok(parts.every((p) => p !== ""));
      const longest = [...(REQUEST.match(/\p{L}{2,}/gu) ?? [])]
        .sort((a, b) => b.length - a.length)
        .slice(0, pieces - 1);
      for (const word of longest)
        assert.ok(
          parts.every((p) => !p.includes(word)),
          `${word} is cut in ${JSON.stringify(parts)}`,
        );
    }
    assert.deepEqual(splitPayload("a b", 3), ["a b"]);
  });
});

describe("templates", () => {
  test("every attack with a template file names its source and licence, and every file is an attack", () => {
    const files = readdirSync(ATTACK_TEMPLATE_DIR).filter((f) => f.endsWith(".json"));
    assert.deepEqual(files.map((f) => f.slice(0, -5)).sort(), [...ATTACK_NAMES, "pair"].sort());
    for (const f of files) {
      const raw = JSON.parse(readFileSync(join(ATTACK_TEMPLATE_DIR, f), "utf8")) as Record<string, unknown>;
      assert.ok(typeof raw.source === "string" && raw.source.length > 20, f);
      assert.ok(typeof raw.licence === "string", f);
    }
  });
  test("a broken template file is one line naming the file and the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "safetune-attacks-"));
    try {
      writeFileSync(
        join(dir, "persona.json"),
        JSON.stringify({ attack: "persona", source: "x", about: "y" }),
      );
      assert.throws(() => loadAttackTemplate("persona", dir), /persona\.json: licence: /);
      writeFileSync(join(dir, "rot13.json"), "{not json");
      assert.throws(() => loadAttackTemplate("rot13", dir), /rot13\.json: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the attack list and the benchmark transform", () => {
  test("all, names, commas and repeats", () => {
    assert.deepEqual(
      parseAttackList(["all"]).map((a) => a.name),
      ATTACK_NAMES,
    );
    assert.deepEqual(
      parseAttackList(["rot13,persona", "rot13"]).map((a) => a.name),
      ["rot13", "persona"],
    );
    assert.throws(
      () => parseAttackList(["rot14"]),
      /--attacks: no attack "rot14" \(known: .*prefix-injection/,
    );
  });

  test("harmful benchmarks gain one copy per attack with ids, categories and the attack recorded", () => {
    const harmful: Benchmark = {
      name: "H",
      kind: "harmful",
      source: "h.jsonl",
      items: [
        { id: "a", prompt: PROMPT, category: "cooking" },
        { id: "b", prompt: [{ role: "user", content: "Describe the water cycle" }] },
      ],
    };
    const benign: Benchmark = { ...harmful, name: "B", kind: "benign" };
    const replayed: Benchmark = {
      ...harmful,
      name: "R",
      items: harmful.items.map((i) => ({ ...i, attack: "R", attackedBenchmark: "X" })),
    };
    const attacks = parseAttackList(["rot13,few-shot"]);
    const out = applyAttacks([harmful, benign, replayed], attacks);
    assert.deepEqual(
      out.map((b) => b.name),
      ["H", attackedName("H", "rot13"), attackedName("H", "few-shot"), "B", "R"],
    );
    for (const [k, attack] of attacks.entries()) {
      const b = out[k + 1] as Benchmark;
      assert.equal(b.kind, "harmful");
      assert.deepEqual(
        b.items.map((i) => [i.id, i.category, i.attack, i.attackedBenchmark]),
        harmful.items.map((i) => [i.id, i.category, attack.name, "H"]),
      );
      assert.deepEqual(
        b.items.map((i) => i.prompt),
        harmful.items.map((i) => attack.apply(i.prompt)),
      );
      // What judges read: the request before the attack.
      assert.deepEqual(
        b.items.map((i) => i.request),
        harmful.items.map((i) => i.prompt),
      );
    }
    assert.ok(out.every((b) => !b.name.includes("+") || b.items.every((i) => i.request !== undefined)));
    assert.ok(
      (out.at(-1) as Benchmark).items.every((i) => i.request === undefined),
      "replayed: left as they are",
    );
  });
});
