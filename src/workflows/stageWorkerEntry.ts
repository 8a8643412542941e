// The process one stage of a safetune pipeline runs in when stages run in parallel (`--jobs N`): the pipeline's
// stage worker with safetune's stage kinds (STAGE_KINDS.workerModule names this file).
import { runStageWorker } from "../pipeline/stageWorker.js";
import { STAGE_KINDS } from "./stageKinds.js";

await runStageWorker(STAGE_KINDS.byName);
