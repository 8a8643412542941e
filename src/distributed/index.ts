// Data-parallel plumbing over libtorch's c10d: process groups, their collectives, the torchrun environment.
export { processGroupOptionsFromEnv } from "./env.js";
export { DistributedError } from "./errors.js";
export { c10dAvailable, ProcessGroup, type ProcessGroupOptions, type ReduceOp } from "./processGroup.js";
