import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tensor, tidy } from "../src/engine/index.js";
import { type PreferenceLossKind, preferenceLoss } from "../src/train/preferenceLoss.js";
import { DpoConfigSchema } from "../src/train/runConfig.js";
import { FIXTURES } from "./helpers/fixtures.js";

const fixture = JSON.parse(readFileSync(join(FIXTURES, "preference_losses.json"), "utf8"));
const input = fixture.inputs;

function batch() {
  const t = (values: number[]) => tensor(values, undefined, { dtype: "float64" });
  return {
    policyChosen: t(input.policy_chosen_logps),
    policyRejected: t(input.policy_rejected_logps),
    referenceChosen: t(input.reference_chosen_logps),
    referenceRejected: t(input.reference_rejected_logps),
    chosenLengths: t(input.chosen_lengths),
    rejectedLengths: t(input.rejected_lengths),
  };
}

function assertClose(actual: number[], want: number[], label: string) {
  assert.equal(actual.length, want.length);
  actual.forEach((a, i) => {
    const w = want[i] as number;
    assert.ok(Math.abs(a - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${label}[${i}]: ${a} vs ${w}`);
  });
}

const CASES: [string, PreferenceLossKind, number][] = [
  ["sigmoid", "sigmoid", 0],
  ["sigmoid_label_smoothing", "sigmoid", input.label_smoothing],
  ["robust", "robust", input.label_smoothing],
  ["hinge", "hinge", 0],
  ["ipo", "ipo", 0],
  ["simpo", "simpo", 0],
];

for (const [key, kind, labelSmoothing] of CASES) {
  test(`${key} loss matches the reference implementation`, () => {
    tidy(() => {
      const result = preferenceLoss(batch(), {
        loss: kind,
        beta: input.beta,
        labelSmoothing,
        simpoGamma: input.simpo_gamma,
      });
      assertClose(result.losses.toArray(), fixture[key], key);
    });
  });
}

test("implicit rewards are β · (policy − reference) log-prob ratios", () => {
  tidy(() => {
    const result = preferenceLoss(batch(), { loss: "sigmoid", beta: input.beta });
    assertClose(result.chosenRewards.toArray(), fixture.chosen_rewards, "chosen_rewards");
    assertClose(result.rejectedRewards.toArray(), fixture.rejected_rewards, "rejected_rewards");
  });
});

test("the DPO loss has the gradient -β σ(-βz) with respect to the chosen log-prob", () => {
  tidy(() => {
    const b = batch();
    const chosen = b.policyChosen.clone().requiresGrad_();
    const { losses } = preferenceLoss({ ...b, policyChosen: chosen }, { loss: "sigmoid", beta: input.beta });
    losses.sum().backward();
    const grads = chosen.grad?.toArray() ?? [];
    input.policy_chosen_logps.forEach((pc: number, i: number) => {
      const z =
        pc -
        input.policy_rejected_logps[i] -
        (input.reference_chosen_logps[i] - input.reference_rejected_logps[i]);
      const want = -input.beta / (1 + Math.exp(input.beta * z));
      assert.ok(Math.abs((grads[i] as number) - want) < 1e-9, `grad[${i}]`);
    });
  });
});

test("bad options are rejected", () => {
  tidy(() => {
    assert.throws(() => preferenceLoss(batch(), { loss: "sigmoid", beta: 0 }), /preference loss: beta: .*>0/);
    assert.throws(
      () => preferenceLoss(batch(), { loss: "robust", beta: 0.1, labelSmoothing: 0.5 }),
      /preference loss: labelSmoothing: .*<0\.5/,
    );
    // Just below the bound is accepted, in the config as in the loss (both read one declaration).
    preferenceLoss(batch(), { loss: "robust", beta: 0.1, labelSmoothing: 0.495 });
    assert.equal(
      DpoConfigSchema.shape.dpo.safeParse({ loss: "robust", labelSmoothing: 0.495 }).success,
      true,
    );
    assert.equal(DpoConfigSchema.shape.dpo.safeParse({ labelSmoothing: 0.5 }).success, false);
    const { referenceChosen: _a, referenceRejected: _b, ...noReference } = batch();
    assert.throws(() => preferenceLoss(noReference, { loss: "ipo", beta: 0.1 }), /needs reference log-probs/);
  });
});
