// The rendezvous: every rank connects to rank 0's TCPStore and announces itself under its own key, then waits
// for the others' keys. Doing this before Gloo connects (Gloo would only say "wait timeout") lets a rank that
// waited in vain name the ranks that never came.
import { c10dMessage, DistributedError } from "./errors.js";
import type { NativeC10d, StoreHandle } from "./native.js";

export interface RendezvousOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
}

const joinedKey = (rank: number) => `safetune/joined/${rank}`;

/** The connected store, once every rank has joined; the caller releases it. */
export function rendezvous(native: NativeC10d, o: RendezvousOptions): StoreHandle {
  const deadline = Date.now() + o.timeoutMs;
  const where = `${o.masterAddr}:${o.masterPort}`;
  let store: StoreHandle;
  try {
    // Rank 0 listens; the others retry connecting until the timeout.
    store = native.tcpStore(o.masterAddr, o.masterPort, o.worldSize, o.rank === 0, o.timeoutMs);
  } catch (err) {
    const who =
      o.rank === 0
        ? `rank 0 cannot serve the store at ${where}`
        : `rank 0 (the master) at ${where} is unreachable`;
    throw new DistributedError(`rendezvous failed: ${who}: ${c10dMessage(err)}`);
  }
  try {
    // add() rather than set(): a second process claiming the same rank sees a count above 1.
    if (native.storeAdd(store, joinedKey(o.rank), 1) > 1) {
      throw new DistributedError(
        `rendezvous at ${where}: rank ${o.rank} joined twice (check RANK in each process)`,
      );
    }
    const keys = Array.from({ length: o.worldSize }, (_, r) => joinedKey(r));
    try {
      native.storeWait(store, keys, Math.max(1, deadline - Date.now()));
    } catch (err) {
      throw missingRanksError(native, store, o, err);
    }
    return store;
  } catch (err) {
    native.storeRelease(store);
    throw err;
  }
}

function missingRanksError(
  native: NativeC10d,
  store: StoreHandle,
  o: RendezvousOptions,
  err: unknown,
): Error {
  const where = `${o.masterAddr}:${o.masterPort}`;
  let missing: number[];
  try {
    missing = Array.from({ length: o.worldSize }, (_, r) => r).filter(
      (r) => !native.storeCheck(store, [joinedKey(r)]),
    );
  } catch {
    // The store itself is gone (rank 0 exited): only the timeout is knowable.
    return new DistributedError(`rendezvous at ${where} failed after ${o.timeoutMs} ms: ${c10dMessage(err)}`);
  }
  if (missing.length === 0) return new DistributedError(`rendezvous at ${where} failed: ${c10dMessage(err)}`);
  const ranks = missing.length === 1 ? `rank ${missing[0]}` : `ranks ${missing.join(", ")}`;
  return new DistributedError(
    `rendezvous at ${where} timed out after ${o.timeoutMs} ms: ${ranks} of world size ${o.worldSize} never joined`,
  );
}
