// A seeded random stream with the few draws the world generator needs. Each pool of the world draws from
// its own stream (derived from the world seed and the pool's name), so resizing one pool leaves the others
// unchanged.
import { mulberry32 } from "../util/random.js";

/** FNV-1a over the stream name, started from the seed: a cheap, stable way to give each pool its own seed. */
function deriveSeed(seed: number, stream: string): number {
  let hash = (2166136261 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    hash ^= stream.charCodeAt(i);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash;
}

export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** The stream named `stream` of the world seeded `seed`. */
  static derive(seed: number, stream: string): Rng {
    return new Rng(deriveSeed(seed, stream));
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min)
      throw new RangeError(`Rng.int: bad range [${min}, ${max}]`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: no items to pick from");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** `count` distinct elements in random order (all of them, shuffled, when count exceeds the length). */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }
}
