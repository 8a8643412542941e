// The addon's c10d functions (native/src/distributed.cc). They exist only in builds compiled with gloo's
// headers; c10dAvailable() says which kind of build this is.
import { type Handle, loadNative } from "../engine/native.js";
import { DistributedError, NO_C10D } from "./errors.js";

/** An opaque reference to a native c10d::Store. */
export type StoreHandle = { readonly __brand: "C10dStore" };
/** An opaque reference to a native c10d::ProcessGroupGloo. */
export type GroupHandle = { readonly __brand: "C10dGroup" };

export interface NativeC10d {
  c10dAvailable(): boolean;
  tcpStore(host: string, port: number, worldSize: number, isServer: boolean, timeoutMs: number): StoreHandle;
  prefixStore(prefix: string, store: StoreHandle): StoreHandle;
  storeAdd(store: StoreHandle, key: string, delta: number): number;
  storeSet(store: StoreHandle, key: string, value: string): void;
  storeGet(store: StoreHandle, key: string): string;
  storeCheck(store: StoreHandle, keys: string[]): boolean;
  storeWait(store: StoreHandle, keys: string[], timeoutMs: number): void;
  storeRelease(store: StoreHandle): void;
  glooGroup(
    store: StoreHandle,
    rank: number,
    worldSize: number,
    timeoutMs: number,
    interfaces: string[],
    hostname: string,
  ): GroupHandle;
  broadcast(group: GroupHandle, tensors: Handle[], root: number): void;
  allReduce(group: GroupHandle, tensors: Handle[], op: string): void;
  allGather(group: GroupHandle, tensor: Handle): Handle[];
  barrier(group: GroupHandle): void;
  destroyGroup(group: GroupHandle): void;
  /** Builds against a CUDA libtorch with NCCL's header only. */
  ncclAvailable?(): boolean;
  ncclGroup?(store: StoreHandle, rank: number, worldSize: number, timeoutMs: number): GroupHandle;
}

/** Whether the engine loads and was built with c10d (false, not an error, when the engine is missing). */
export function c10dAvailable(): boolean {
  try {
    const addon = loadNative() as unknown as Partial<NativeC10d>;
    return addon.c10dAvailable?.() === true;
  } catch {
    return false;
  }
}

/** The addon's c10d functions; a DistributedError saying how to get them in a build without. */
export function c10d(): NativeC10d {
  const addon = loadNative() as unknown as Partial<NativeC10d>;
  if (addon.c10dAvailable?.() !== true) throw new DistributedError(NO_C10D);
  return addon as NativeC10d;
}
