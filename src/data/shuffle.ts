// Seeded shuffles, so that every mixture and split can be rebuilt from its seed.
import { mulberry32 } from "../util/random.js";

/** A Fisher-Yates shuffle of a copy of `items`, driven by mulberry32(seed). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const random = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** A second, independent seed derived from `seed` (for a later shuffle in the same operation). */
export function deriveSeed(seed: number, stream: number): number {
  return (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(stream, 0xc2b2ae35)) >>> 0;
}
