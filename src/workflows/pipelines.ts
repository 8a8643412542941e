// Pipeline files of safetune's stage kinds: the pipeline layer's reader with STAGE_KINDS.
import {
  loadPipelineWith,
  type Pipeline,
  type PipelineOverrides,
  parsePipelineWith,
} from "../pipeline/pipelineFile.js";
import { STAGE_KINDS } from "./stageKinds.js";

/** Reads and checks a pipeline file of safetune's stage kinds (`safetune pipeline run FILE.yaml`). */
export function loadPipeline(path: string, overrides: PipelineOverrides = {}): Pipeline {
  return loadPipelineWith(STAGE_KINDS, path, overrides);
}

/** Checks a parsed pipeline document of safetune's stage kinds; `source` names it in errors. */
export function parsePipeline(raw: unknown, source: string, overrides: PipelineOverrides = {}): Pipeline {
  return parsePipelineWith(STAGE_KINDS, raw, source, overrides);
}
