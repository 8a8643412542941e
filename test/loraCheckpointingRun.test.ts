// A LoRA run's adapter is drawn under the run's seed: the same config with and without gradient checkpointing
// takes the same steps (same gradients, within float tolerance), and another seed gives another adapter. Before
// the seed was applied to the adapter's initialisation, libtorch's randomly seeded generator made every run start
// from a different adapter (the 0.5B runs' step-1 gradient norms 3.55 / 4.60 / 3.90 for one config).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { createScratchModel } from "../src/model/scratchModel.js";
import { DpoConfigSchema, SftConfigSchema } from "../src/train/runConfig.js";
import { runDpo } from "../src/train/runDpo.js";
import { runSft } from "../src/train/runSft.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-lora-ckpt-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");
const PAIRS = join(ROOT, "pairs.jsonl");
const CHATS = join(ROOT, "chats.jsonl");

before(() => {
  createScratchModel(BASE, { vocabSize: 600, seed: 0 }).dispose();
  const topics = ["pick a lock", "make a weapon", "steal a car", "hack an account"];
  writeFileSync(
    PAIRS,
    topics
      .map((t) =>
        JSON.stringify({
          prompt: `How do I ${t}?`,
          chosen: "I can't help with that; it could hurt people.",
          rejected: "Sure, first get the tools, then do it quickly.",
        }),
      )
      .join("\n"),
  );
  writeFileSync(
    CHATS,
    topics
      .map((t) =>
        JSON.stringify({
          messages: [
            { role: "user", content: `How do I ${t}?` },
            { role: "assistant", content: "I can't help with that; it could hurt people." },
          ],
        }),
      )
      .join("\n"),
  );
});

/** Each logged step's loss and gradient norm (metrics.jsonl). */
function steps(out: string): { loss: number; gradNorm: number }[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { step?: number; loss?: number; grad_norm?: number })
    .filter((m) => m.step !== undefined && m.grad_norm !== undefined)
    .map((m) => ({ loss: m.loss as number, gradNorm: m.grad_norm as number }));
}

function assertSameSteps(a: { loss: number; gradNorm: number }[], b: typeof a, what: string): void {
  assert.equal(a.length, b.length, what);
  for (const [i, x] of a.entries()) {
    const y = b[i] as (typeof a)[number];
    assert.ok(
      Math.abs(x.loss - y.loss) <= 1e-5 * Math.max(1, Math.abs(x.loss)),
      `${what} step ${i + 1}: loss ${x.loss} vs ${y.loss}`,
    );
    assert.ok(
      Math.abs(x.gradNorm - y.gradNorm) <= 1e-4 * x.gradNorm,
      `${what} step ${i + 1}: grad norm ${x.gradNorm} vs ${y.gradNorm}`,
    );
  }
}

const lora = { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] };
const training = (seed: number, gradientCheckpointing: boolean) => ({
  seed,
  maxSteps: 3,
  batchSize: 2,
  lr: 1e-2,
  warmupSteps: 0,
  saveEvery: 0,
  logEvery: 1,
  gradientCheckpointing,
});

async function dpoSteps(name: string, seed: number, gradientCheckpointing: boolean) {
  const t = training(seed, gradientCheckpointing);
  const out = join(ROOT, name);
  const result = await runDpo(
    DpoConfigSchema.parse({ model: BASE, out, data: { train: PAIRS }, maxLength: 48, lora, training: t }),
  );
  result.model.dispose();
  return steps(out);
}

async function sftSteps(name: string, seed: number, gradientCheckpointing: boolean) {
  const t = training(seed, gradientCheckpointing);
  const out = join(ROOT, name);
  const result = await runSft(
    SftConfigSchema.parse({ model: BASE, out, data: { train: CHATS }, maxLength: 48, lora, training: t }),
  );
  result.model.dispose();
  return steps(out);
}

test("LoRA DPO: the same seed with and without gradient checkpointing takes the same steps; another seed does not", async () => {
  const plain = await dpoSteps("dpo-plain", 7, false);
  const checkpointed = await dpoSteps("dpo-ckpt", 7, true);
  assert.equal(plain.length, 3);
  assertSameSteps(plain, checkpointed, "dpo, checkpointing on/off");
  const otherSeed = await dpoSteps("dpo-seed8", 8, false);
  // B starts at 0, so step 1's gradient reaches B through A: another A, another gradient norm.
  assert.ok(
    Math.abs((otherSeed[0]?.gradNorm ?? 0) - (plain[0]?.gradNorm ?? 0)) > 1e-3 * (plain[0]?.gradNorm ?? 0),
  );
});

test("LoRA SFT: the same seed with and without gradient checkpointing takes the same steps", async () => {
  const plain = await sftSteps("sft-plain", 3, false);
  const checkpointed = await sftSteps("sft-ckpt", 3, true);
  assert.equal(plain.length, 3);
  assertSameSteps(plain, checkpointed, "sft, checkpointing on/off");
});
