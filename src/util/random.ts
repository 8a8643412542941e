// Small seedable random number generators, so each request can carry its own seed without a global RNG.
import { randomBytes } from "node:crypto";

/**
 * Mulberry32: a fast 32-bit-state generator returning uniform numbers in [0, 1) with 2^-32 resolution.
 * The seed is reduced to an unsigned 32-bit integer (`seed >>> 0`: fractions are dropped and values wrap
 * modulo 2^32), so seeds that agree modulo 2^32 give the same stream. A non-finite seed throws a RangeError.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`mulberry32: seed must be a finite number, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A mulberry32 stream from `seed`, or from a fresh cryptographically random 32-bit seed when it is undefined. */
export function seededRandom(seed?: number): () => number {
  return mulberry32(seed ?? randomBytes(4).readUInt32LE(0));
}
