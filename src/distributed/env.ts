// The torchrun convention: a launcher sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT in each process.
import { DistributedError } from "./errors.js";
import type { ProcessGroupOptions } from "./processGroup.js";

const REQUIRED = ["RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"] as const;

function integer(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name] ?? "";
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < 0) {
    throw new DistributedError(`${name} must be a non-negative integer, got '${raw}'`);
  }
  return n;
}

/**
 * Options from the torchrun variables RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_RANK, when set, is
 * checked but not used here: it picks a device, which is the trainer's business). undefined when none of them is
 * set; a DistributedError when only some are, or one is malformed.
 */
export function processGroupOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ProcessGroupOptions | undefined {
  const present = REQUIRED.filter((name) => env[name] !== undefined && env[name] !== "");
  if (present.length === 0) return undefined;
  const missing = REQUIRED.filter((name) => !present.includes(name));
  if (missing.length > 0) {
    throw new DistributedError(`incomplete distributed environment: ${missing.join(", ")} not set`);
  }
  if (env.LOCAL_RANK !== undefined && env.LOCAL_RANK !== "") integer(env, "LOCAL_RANK");
  return {
    rank: integer(env, "RANK"),
    worldSize: integer(env, "WORLD_SIZE"),
    masterAddr: env.MASTER_ADDR as string,
    masterPort: integer(env, "MASTER_PORT"),
  };
}
