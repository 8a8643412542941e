// Next-token sampling math over one row of Float32Array logits: penalties, temperature, top-k, top-p, min-p.
// Pure JS (not libtorch) so that every request can carry its own seeded random stream.

export interface SamplingOptions {
  /** 0 (or undefined with no topK/topP) means greedy. Default 1 when sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0/undefined: off). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1/undefined: off). */
  topP?: number;
  /** Keep tokens whose probability is at least minP × the top probability (0/undefined: off). */
  minP?: number;
  /** CTRL-style repetition penalty over every token seen (prompt + generated): positive logits divided, negative multiplied (1: off). */
  repetitionPenalty?: number;
  /** OpenAI-style: subtract count × frequencyPenalty for each generated token (0: off). */
  frequencyPenalty?: number;
  /** OpenAI-style: subtract presencePenalty once for any generated token (0: off). */
  presencePenalty?: number;
}

/** The kept candidates in descending probability (ties: lower id first); `probs` sum to 1 (up to rounding). */
export interface CandidateDistribution {
  ids: Int32Array;
  probs: Float64Array;
}

/** Weights below this may become 0 once divided by the softmax sum; rows holding one get an exact check. */
const TINY_WEIGHT = 1e-290;
/** Relative-weight thresholds tried in turn to find a small prefix of the candidates before sorting. */
const THRESHOLDS = [1e-3, 1e-7, 1e-16, 0];

const topKActive = (o: SamplingOptions): boolean => o.topK !== undefined && o.topK > 0;
const topPActive = (o: SamplingOptions): boolean => o.topP !== undefined && o.topP < 1;
const minPActive = (o: SamplingOptions): boolean => o.minP !== undefined && o.minP > 0;

/** Greedy when temperature is 0, or when it is undefined and no topK/topP/minP filter is active. */
export function isGreedy(o: SamplingOptions): boolean {
  if (o.temperature === 0) return true;
  return o.temperature === undefined && !topKActive(o) && !topPActive(o) && !minPActive(o);
}

/** Throws a RangeError naming the first option that is out of range. */
export function validateSamplingOptions(o: SamplingOptions): void {
  const { temperature, topK, topP, minP } = o;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) {
    throw new RangeError(`temperature must be a finite number >= 0, got ${temperature}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) {
    throw new RangeError(`topK must be an integer >= 0, got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  }
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) {
    throw new RangeError(`minP must be in [0, 1], got ${minP}`);
  }
  validatePenalties(o);
}

function validatePenalties(o: SamplingOptions): void {
  const { repetitionPenalty, frequencyPenalty, presencePenalty } = o;
  if (repetitionPenalty !== undefined && !(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0)) {
    throw new RangeError(`repetitionPenalty must be a finite number > 0, got ${repetitionPenalty}`);
  }
  if (frequencyPenalty !== undefined && !Number.isFinite(frequencyPenalty)) {
    throw new RangeError(`frequencyPenalty must be a finite number, got ${frequencyPenalty}`);
  }
  if (presencePenalty !== undefined && !Number.isFinite(presencePenalty)) {
    throw new RangeError(`presencePenalty must be a finite number, got ${presencePenalty}`);
  }
}

/** First index of the largest entry; NaN entries never win. Throws a RangeError when every entry is NaN. */
export function argmax(logits: Float32Array): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > bestValue || (best < 0 && v === Number.NEGATIVE_INFINITY)) {
      best = i;
      bestValue = v;
    }
  }
  if (best < 0) throw new RangeError(`argmax: no non-NaN entry among ${logits.length} logits`);
  return best;
}

/** How many times each id occurs. */
export function countTokens(ids: Iterable<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * Returns a new row with the penalties applied; `logits` is left untouched. Ids that are not integers inside
 * the row are ignored, as are counts that are not > 0.
 *
 * - repetitionPenalty r applies once to each distinct token in `seenTokens` (and to any token with a
 *   generated count, which is seen too): a positive logit becomes l / r, a negative one l × r.
 * - then `count × frequencyPenalty + presencePenalty` is subtracted for each generated token.
 *
 * Each touched logit is computed in float64 and rounded to float32 once.
 */
export function applyPenalties(
  logits: Float32Array,
  seenTokens: Iterable<number>,
  generatedCounts: Map<number, number>,
  o: SamplingOptions,
): Float32Array {
  validatePenalties(o);
  const out = logits.slice();
  const n = logits.length;
  const repetition = o.repetitionPenalty ?? 1;
  const frequency = o.frequencyPenalty ?? 0;
  const presence = o.presencePenalty ?? 0;
  const inRow = (id: number) => Number.isInteger(id) && id >= 0 && id < n;
  const generated = (count: number | undefined) => count !== undefined && count > 0;

  if (repetition !== 1) {
    const seen = new Set<number>();
    for (const id of seenTokens) if (inRow(id)) seen.add(id);
    for (const [id, count] of generatedCounts) if (inRow(id) && generated(count)) seen.add(id);
    for (const id of seen) {
      let v = logits[id] as number;
      v = v > 0 ? v / repetition : v * repetition;
      const count = generatedCounts.get(id);
      if (generated(count)) v = v - (count as number) * frequency - presence;
      out[id] = v;
    }
  } else if (frequency !== 0 || presence !== 0) {
    for (const [id, count] of generatedCounts) {
      if (inRow(id) && generated(count)) out[id] = (logits[id] as number) - count * frequency - presence;
    }
  }
  return out;
}

/**
 * The candidates kept after temperature -> softmax -> topK -> topP -> minP, renormalised, in descending
 * probability (ties: lower id first). Greedy options give the argmax alone with probability 1.
 *
 * - softmax: w_i = exp((l_i - max) / temperature) in float64; NaN logits and weights whose probability
 *   w_i / Σw is exactly 0 are never candidates. +Infinity logits (if any) share all the mass equally.
 * - topK keeps the k most likely candidates.
 * - topP is measured on the distribution left by topK (as in HF transformers and vLLM): it keeps the
 *   shortest prefix whose cumulative probability (Σ prefix w) / (Σ topK-kept w) is >= p, so the token
 *   that crosses p is kept.
 * - minP keeps the candidates with w_i >= minP × w_top (the same as comparing probabilities).
 */
export function candidateDistribution(logits: Float32Array, o: SamplingOptions): CandidateDistribution {
  validateSamplingOptions(o);
  return distribution(logits, o);
}

/**
 * Draws one token id. Greedy options return `argmax(logits)` without calling `random`; otherwise `random`
 * is called exactly once for u in [0, 1) and the first candidate (in `candidateDistribution` order) whose
 * cumulative probability exceeds u is returned.
 */
export function sampleToken(logits: Float32Array, o: SamplingOptions, random: () => number): number {
  validateSamplingOptions(o);
  if (isGreedy(o)) return argmax(logits);
  const { ids, probs } = distribution(logits, o);
  const u = random();
  if (!(u >= 0 && u < 1)) throw new RangeError(`sampleToken: random() must return a number in [0, 1), got ${u}`);
  let acc = 0;
  let last = 0;
  for (let j = 0; j < ids.length; j++) {
    const p = probs[j] as number;
    if (p <= 0) continue;
    acc += p;
    last = j;
    if (u < acc) return ids[j] as number;
  }
  // u >= the rounded total (just below 1): the last candidate with a nonzero probability.
  return ids[last] as number;
}

// ---------------------------------------------------------------------------------------------------------
// Internals. The scratch buffers are reused between calls (JS is single-threaded and nothing here yields),
// so a 150k-token row does not allocate megabytes per generated token.

let weightScratch = new Float64Array(0);
let idScratch = new Int32Array(0);
let valueScratch = new Float64Array(0);

function scratchWeights(n: number): Float64Array {
  if (weightScratch.length < n) weightScratch = new Float64Array(n);
  return weightScratch;
}
function scratchIds(n: number): Int32Array {
  if (idScratch.length < n) idScratch = new Int32Array(n);
  return idScratch;
}
function scratchValues(n: number): Float64Array {
  if (valueScratch.length < n) valueScratch = new Float64Array(n);
  return valueScratch;
}

function distribution(logits: Float32Array, o: SamplingOptions): CandidateDistribution {
  const n = logits.length;
  if (n === 0) throw new RangeError("sampling: the logits row is empty");
  if (isGreedy(o)) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };

  // Softmax weights, max-subtracted, in float64.
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (v > max) max = v;
  }
  if (max === Number.NEGATIVE_INFINITY) {
    throw new RangeError("sampling: every logit is -Infinity or NaN, so no token can be sampled");
  }
  const temperature = o.temperature ?? 1;
  const w = scratchWeights(n);
  let total = 0;
  let count = 0;
  let tiny = false;
  if (max === Number.POSITIVE_INFINITY) {
    for (let i = 0; i < n; i++) {
      const isInf = logits[i] === Number.POSITIVE_INFINITY;
      w[i] = isInf ? 1 : 0;
      if (isInf) count++;
    }
    total = count;
  } else {
    for (let i = 0; i < n; i++) {
      const e = Math.exp(((logits[i] as number) - max) / temperature);
      if (e > 0) {
        w[i] = e;
        total += e;
        count++;
        if (e < TINY_WEIGHT) tiny = true;
      } else {
        w[i] = 0; // underflow, or NaN
      }
    }
    if (tiny) {
      // Drop the weights whose probability is exactly 0 once divided by the sum.
      const sum = total;
      total = 0;
      count = 0;
      for (let i = 0; i < n; i++) {
        const e = w[i] as number;
        if (e > 0 && e / sum > 0) {
          total += e;
          count++;
        } else {
          w[i] = 0;
        }
      }
    }
  }

  const kCut = topKActive(o) && (o.topK as number) < count ? (o.topK as number) : count;
  const topP = topPActive(o) ? (o.topP as number) : 1;
  const usesTopP = topP < 1;
  const minP = minPActive(o) ? (o.minP as number) : 0;
  const usesMinP = minP > 0;
  const unfiltered = kCut === count && !usesTopP && !usesMinP;
  const ids = scratchIds(n);

  for (const guess of unfiltered ? [0] : THRESHOLDS) {
    // With minP on, the threshold never exceeds minP × w_top (w_top = 1), so every minP survivor is collected.
    const t = usesMinP ? Math.min(guess, minP) : guess;
    // Collect S = {i : w_i >= t}, a prefix of the descending order, in id order.
    let s = 0;
    let mass = 0;
    for (let i = 0; i < n; i++) {
      const e = w[i] as number;
      if (e > 0 && e >= t) {
        ids[s++] = i;
        mass += e;
      }
    }
    const complete = s === count;
    if (!complete) {
      // Cheap necessary conditions before sorting; the exact decision is made on the sorted prefix below.
      if (kCut < count && s < kCut && (usesTopP || !usesMinP)) continue;
      if (kCut === count && !usesTopP && !usesMinP) continue;
      if (kCut === count && usesTopP && !usesMinP && mass < topP * total * (1 - 1e-9)) continue;
    }
    // C: the top min(kCut, s) of S, sorted.
    let m = s;
    if (kCut < s) m = selectTop(ids, s, w, kCut);
    sortCandidates(ids, m, w, logits);
    const wholeTopK = s >= kCut; // C is the whole topK-kept set (when topK is off: every candidate)

    let kept = m;
    if (usesTopP) {
      let kMass = total;
      if (kCut < count) {
        if (!wholeTopK) continue;
        kMass = 0;
        for (let j = 0; j < m; j++) kMass += w[ids[j] as number] as number;
      }
      let acc = 0;
      let crossed = false;
      for (let j = 0; j < m; j++) {
        acc += w[ids[j] as number] as number;
        if (acc / kMass >= topP) {
          kept = j + 1;
          crossed = true;
          break;
        }
      }
      // Not crossed inside a partial prefix: only minP (whose survivors are all in S) can still decide.
      if (!crossed && !wholeTopK && !usesMinP) continue;
    } else if (!wholeTopK && !usesMinP) {
      continue;
    }
    if (usesMinP) {
      const floor = minP; // × w_top, which is 1
      let j = 0;
      while (j < kept && (w[ids[j] as number] as number) >= floor) j++;
      kept = j;
    }
    return normalised(ids, kept, w);
  }
  // Unreachable: the last threshold (0) collects every candidate, which always decides.
  throw new Error("sampling: internal error, no threshold decided the candidate set");
}

function normalised(ids: Int32Array, kept: number, w: Float64Array): CandidateDistribution {
  let sum = 0;
  for (let j = 0; j < kept; j++) sum += w[ids[j] as number] as number;
  const outIds = ids.slice(0, kept);
  const probs = new Float64Array(kept);
  for (let j = 0; j < kept; j++) probs[j] = (w[outIds[j] as number] as number) / sum;
  return { ids: outIds, probs };
}

/**
 * Reorders ids[0..s) so that ids[0..k) are the k best by (weight desc, id asc), k < s; returns k.
 * ids[0..s) must be in ascending id order.
 */
function selectTop(ids: Int32Array, s: number, w: Float64Array, k: number): number {
  const values = scratchValues(s);
  for (let j = 0; j < s; j++) values[j] = w[ids[j] as number] as number;
  const v = kthLargest(values, s, k - 1);
  // Everything above v, then as many entries equal to v as fit, lowest ids first.
  let above = 0;
  for (let j = 0; j < s; j++) if ((w[ids[j] as number] as number) > v) above++;
  let equalQuota = k - above;
  let out = 0;
  for (let j = 0; j < s; j++) {
    const id = ids[j] as number;
    const e = w[id] as number;
    if (e > v || (e === v && equalQuota-- > 0)) ids[out++] = id;
  }
  return out;
}

/** The value of rank `k` (0-based) in descending order of a[0..n); reorders a. */
function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  for (let round = 0; lo < hi; round++) {
    if (round > 64) {
      // Pathological pivots: finish with a sort of what is left.
      const rest = a.subarray(lo, hi + 1).sort();
      return rest[hi - k] as number;
    }
    const x = a[lo] as number;
    const y = a[(lo + hi) >>> 1] as number;
    const z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // Three-way partition, descending: [lo, lt) > pivot, [lt, gt] == pivot, (gt, hi] < pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const e = a[i] as number;
      if (e > pivot) {
        a[i] = a[lt] as number;
        a[lt] = e;
        lt++;
        i++;
      } else if (e < pivot) {
        a[i] = a[gt] as number;
        a[gt] = e;
        gt--;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[lo] as number;
}

/**
 * Sorts ids[0..m) (given in ascending id order) by (weight desc, id asc). Weights are a monotone function of
 * the float32 logits, so the bulk of the work is a stable LSD radix sort on the logits' bit patterns (mapped
 * to an unsigned order); a final insertion pass fixes the rare neighbours whose float64 weights tie although
 * their logits differ. No comparator sort and no limit on the vocabulary size.
 */
function sortCandidates(ids: Int32Array, m: number, w: Float64Array, logits: Float32Array): void {
  if (m < 2) return;
  if (m > INSERTION_ONLY) radixSortByLogitDesc(ids, m, logits);
  for (let j = 1; j < m; j++) {
    const id = ids[j] as number;
    const e = w[id] as number;
    let k = j - 1;
    while (k >= 0) {
      const other = ids[k] as number;
      const f = w[other] as number;
      if (f > e || (f === e && other < id)) break;
      ids[k + 1] = other;
      k--;
    }
    ids[k + 1] = id;
  }
}

/** Below this many candidates the insertion pass alone sorts. */
const INSERTION_ONLY = 32;
const RADIX_BITS = 11;
const RADIX_SIZE = 1 << RADIX_BITS;
const RADIX_MASK = RADIX_SIZE - 1;
let radixKeys = new Uint32Array(0);
let radixKeysTmp = new Uint32Array(0);
let radixIdsTmp = new Int32Array(0);
const radixCounts = new Int32Array(RADIX_SIZE);

/** Stable sort of ids[0..m) by descending logit (ties keep their order), three 11-bit passes. */
function radixSortByLogitDesc(ids: Int32Array, m: number, logits: Float32Array): void {
  if (radixKeys.length < m) {
    radixKeys = new Uint32Array(m);
    radixKeysTmp = new Uint32Array(m);
    radixIdsTmp = new Int32Array(m);
  }
  const bits = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
  let keys = radixKeys;
  let keysOut = radixKeysTmp;
  let src = ids;
  let dst = radixIdsTmp;
  for (let j = 0; j < m; j++) {
    const u = bits[ids[j] as number] as number;
    // IEEE-754 bits -> ascending unsigned order (negatives reversed below positives), then flipped so that
    // an ascending sort of the key is a descending sort of the logit.
    const ascending = u >= 0x80000000 ? 0xffffffff - u : u + 0x80000000;
    keys[j] = 0xffffffff - ascending;
  }
  const counts = radixCounts;
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    counts.fill(0);
    for (let j = 0; j < m; j++) counts[((keys[j] as number) >>> shift) & RADIX_MASK]++;
    // A digit shared by every key moves nothing.
    if (counts[((keys[0] as number) >>> shift) & RADIX_MASK] === m) continue;
    let sum = 0;
    for (let d = 0; d < RADIX_SIZE; d++) {
      const c = counts[d] as number;
      counts[d] = sum;
      sum += c;
    }
    for (let j = 0; j < m; j++) {
      const key = keys[j] as number;
      const d = (key >>> shift) & RADIX_MASK;
      const at = counts[d] as number;
      counts[d] = at + 1;
      keysOut[at] = key;
      dst[at] = src[j] as number;
    }
    [keys, keysOut] = [keysOut, keys];
    [src, dst] = [dst, src];
  }
  if (src !== ids) ids.set(src.subarray(0, m));
}
