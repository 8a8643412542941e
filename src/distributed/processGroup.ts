// A process group: the ranks of one data-parallel job, joined through rank 0's TCPStore and connected by Gloo,
// with blocking collectives on tensors. c10d (inside libtorch) does the networking; this file validates
// arguments, picks defaults and turns c10d's failures into DistributedErrors that say which call failed where.
import { loadNative } from "../engine/native.js";
import { Tensor } from "../engine/tensor.js";
import { c10dMessage, DistributedError } from "./errors.js";
import { glooDevice } from "./glooDevice.js";
import { c10d, type GroupHandle, type NativeC10d } from "./native.js";
import { rendezvous } from "./rendezvous.js";

export { c10dAvailable } from "./native.js";

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** The address of rank 0, which serves the rendezvous store (e.g. "127.0.0.1"). */
  masterAddr: string;
  masterPort: number;
  /** Every collective and the rendezvous fail after this (default 30000 ms). */
  timeoutMs?: number;
  backend?: "gloo" | "nccl";
}

export type ReduceOp = "sum" | "max" | "min";

const DEFAULT_TIMEOUT_MS = 30_000;
const REDUCE_OPS: readonly string[] = ["sum", "max", "min"];

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DistributedError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Collectives block until every rank has taken part, and must be called by all ranks in the same order with
 * tensors of the same shapes and dtypes. They work in place on tensors of any layout (a non-contiguous tensor
 * goes through a contiguous copy that is written back), outside autograd.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: string;
  readonly timeoutMs: number;
  readonly #native: NativeC10d;
  #group: GroupHandle | undefined;

  private constructor(native: NativeC10d, group: GroupHandle, o: Required<ProcessGroupOptions>) {
    this.#native = native;
    this.#group = group;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.backend = o.backend;
    this.timeoutMs = o.timeoutMs;
  }

  /**
   * Joins the group: blocks until all `worldSize` ranks have joined, or throws a DistributedError after
   * `timeoutMs` naming the ranks that did not come (or, on ranks other than 0, saying rank 0 is unreachable).
   */
  static init(options: ProcessGroupOptions): ProcessGroup {
    const o: Required<ProcessGroupOptions> = {
      timeoutMs: DEFAULT_TIMEOUT_MS,
      backend: "gloo",
      ...options,
    };
    checkInteger("worldSize", o.worldSize, 1, 65_536);
    checkInteger("rank", o.rank, 0, o.worldSize - 1);
    checkInteger("masterPort", o.masterPort, 1, 65_535);
    checkInteger("timeoutMs", o.timeoutMs, 1, 2 ** 31 - 1);
    if (o.masterAddr === "") throw new DistributedError("masterAddr is empty");
    if (o.backend !== "gloo" && o.backend !== "nccl")
      throw new DistributedError(`unknown backend '${String(o.backend)}'`);
    if (o.backend === "nccl" && !loadNative().compiledWithCuda())
      throw new DistributedError(
        'backend "nccl" needs a CUDA build of libtorch (this one is CPU-only): use backend "gloo"',
      );
    const native = c10d();
    if (o.backend === "nccl" && native.ncclAvailable?.() !== true)
      throw new DistributedError(
        'backend "nccl": this CUDA build of the addon found no nccl.h when it was compiled (set CUDA_HOME or install NCCL\'s headers, then npm run build:native): use backend "gloo"',
      );
    const store = rendezvous(native, o);
    if (o.backend === "nccl" && native.ncclGroup) {
      try {
        const ncclStore = native.prefixStore("safetune/nccl", store);
        try {
          return new ProcessGroup(native, native.ncclGroup(ncclStore, o.rank, o.worldSize, o.timeoutMs), o);
        } finally {
          native.storeRelease(ncclStore);
        }
      } catch (err) {
        throw new DistributedError(
          `connecting nccl (rank ${o.rank} of ${o.worldSize}) failed: ${c10dMessage(err)}`,
        );
      } finally {
        native.storeRelease(store);
      }
    }
    try {
      // Gloo's keys live under their own prefix, apart from the rendezvous keys.
      const glooStore = native.prefixStore("safetune/gloo", store);
      try {
        const device = glooDevice(o.masterAddr);
        const group = native.glooGroup(
          glooStore,
          o.rank,
          o.worldSize,
          o.timeoutMs,
          device.interfaces,
          device.hostname,
        );
        return new ProcessGroup(native, group, o);
      } finally {
        native.storeRelease(glooStore);
      }
    } catch (err) {
      throw new DistributedError(
        `connecting gloo (rank ${o.rank} of ${o.worldSize}) failed: ${c10dMessage(err)}`,
      );
    } finally {
      // The group holds its own reference to the store; rank 0's server lives as long as the group.
      native.storeRelease(store);
    }
  }

  /** Copies `root`'s tensors into every other rank's, in place. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    checkInteger("root", root, 0, this.worldSize - 1);
    const handles = tensors.map((t) => t.handle);
    this.#call("broadcast", (native, group) => native.broadcast(group, handles, root));
  }

  /** Replaces each tensor by the element-wise sum (max, min) over the ranks, in place. */
  allReduce(tensors: readonly Tensor[], op: ReduceOp = "sum"): void {
    if (!REDUCE_OPS.includes(op))
      throw new DistributedError(`unknown reduce op '${op}' (expected sum, max or min)`);
    const handles = tensors.map((t) => t.handle);
    this.#call("allReduce", (native, group) => native.allReduce(group, handles, op));
  }

  /** Every rank's `tensor`, as new tensors in rank order (this rank's own is a copy). */
  allGather(tensor: Tensor): Tensor[] {
    const handle = tensor.handle;
    const handles = this.#call("allGather", (native, group) => native.allGather(group, handle));
    return handles.map((h) => new Tensor(h));
  }

  /** Returns once every rank has called barrier(). */
  barrier(): void {
    this.#call("barrier", (native, group) => native.barrier(group));
  }

  /** Closes this rank's connections (idempotent); the group cannot be used afterwards. */
  destroy(): void {
    if (this.#group === undefined) return;
    const group = this.#group;
    this.#group = undefined;
    this.#native.destroyGroup(group);
  }

  get isDestroyed(): boolean {
    return this.#group === undefined;
  }

  #call<T>(op: string, fn: (native: NativeC10d, group: GroupHandle) => T): T {
    if (this.#group === undefined) throw new DistributedError(`${op}: the process group was destroyed`);
    try {
      return fn(this.#native, this.#group);
    } catch (err) {
      throw new DistributedError(
        `${op} failed on rank ${this.rank} of ${this.worldSize}: ${c10dMessage(err)}`,
      );
    }
  }
}
