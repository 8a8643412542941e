// Every kind of stage a pipeline can have, by name.
import type { StageKind } from "./stageKind.js";
import { mixStage, tokenizerStage, worldStage } from "./stages/dataStages.js";
import { evalStage, reportStage } from "./stages/evalStages.js";
import { dpoStage, pretrainStage, raftStage, rewardStage, sftStage } from "./stages/trainerStages.js";

export const STAGE_KINDS: Readonly<Record<string, StageKind>> = Object.fromEntries(
  [
    worldStage,
    tokenizerStage,
    mixStage,
    pretrainStage,
    sftStage,
    rewardStage,
    raftStage,
    dpoStage,
    evalStage,
    reportStage,
  ].map((k) => [k.kind, k]),
);
