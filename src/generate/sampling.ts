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
/**
 * Weights w in (0, 1] are binned by the high 32 bits of their float64 encoding: 4 bins per octave, bin 0 for
 * w = 1, and a larger bin for every smaller w. The histogram only guides how large a prefix to sort.
 */
const BIN_SHIFT = 18;
const ONE_HIGH_WORD = 0x3ff00000;
const BINS = (ONE_HIGH_WORD >>> BIN_SHIFT) + 1;
/** Interleaved copies of the histogram, so that neighbouring tokens rarely update the same cell in a row. */
const BIN_COPIES = 4;
/** Index of the high 32-bit word of a float64 in a Uint32Array view (platform byte order). */
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;
/** Relative slack on histogram masses (summed in another order than the exact walk) when choosing a prefix. */
const MASS_SLACK = 1e-9;

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
 *   shortest prefix whose cumulative probability (Σ prefix w, in order) / (Σ topK-kept w) is >= p, so the
 *   token that crosses p is kept.
 * - minP keeps the candidates with w_i >= minP × w_top (the same as comparing probabilities).
 * - probs[j] = w_j / (Σ kept w). Every mass Σ (all, topK-kept, kept) is summed in ascending id order, so it
 *   does not depend on sorting; only the cumulative sums of topP and of the draw run in descending order.
 */
export function candidateDistribution(logits: Float32Array, o: SamplingOptions): CandidateDistribution {
  validateSamplingOptions(o);
  if (isGreedy(o)) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  const row = softmaxRow(logits, o.temperature ?? 1);
  const kept = keep(row, o, true);
  const ids = kept.ids.slice(0, kept.count);
  const probs = new Float64Array(kept.count);
  for (let j = 0; j < kept.count; j++) probs[j] = (row.w[ids[j] as number] as number) / kept.mass;
  return { ids, probs };
}

/**
 * Draws one token id. Greedy options return `argmax(logits)` without calling `random`; otherwise `random`
 * is called exactly once for u in [0, 1) and the result is exactly the inverse CDF of
 * `candidateDistribution`: the first candidate j (in its order) with u < probs[0] + … + probs[j] (summed in
 * that order), or the last candidate if rounding leaves the total below u.
 */
export function sampleToken(logits: Float32Array, o: SamplingOptions, random: () => number): number {
  validateSamplingOptions(o);
  if (isGreedy(o)) return argmax(logits);
  // Drawn first, so that no caller code runs while the shared scratch buffers are in use.
  const u = random();
  if (!(u >= 0 && u < 1)) {
    throw new RangeError(`sampleToken: random() must return a number in [0, 1), got ${u}`);
  }
  const row = softmaxRow(logits, o.temperature ?? 1);
  const kept = keep(row, o, false);
  if (kept.sorted) return drawSorted(kept.ids, kept.count, row.w, kept.mass, u);

  // The kept set is known but unsorted (no topP): sort only a prefix holding the crossing, found from the
  // histogram with some slack; if rounding defeats the slack, sort everything kept.
  const t = histogramThreshold(row, 0, u * kept.mass * (1 + MASS_SLACK));
  const prefix = scratchPrefix(kept.count);
  let m = 0;
  for (let j = 0; j < kept.count; j++) {
    const id = kept.ids[j] as number;
    if ((row.w[id] as number) >= t) prefix[m++] = id;
  }
  sortCandidates(prefix, m, row);
  const found = drawSorted(prefix, m, row.w, kept.mass, u, m < kept.count);
  if (found >= 0) return found;
  sortCandidates(kept.ids, kept.count, row);
  return drawSorted(kept.ids, kept.count, row.w, kept.mass, u);
}

// ---------------------------------------------------------------------------------------------------------
// Internals. The scratch buffers are reused between calls (JS is single-threaded and nothing here yields),
// so a 150k-token row does not allocate megabytes per generated token.

/** The softmax weights of one row (in scratch memory, valid until the next call). */
interface WeightedRow {
  logits: Float32Array;
  /** w[i] = exp((l_i - max) / temperature), or 0 for tokens that are not candidates. */
  w: Float64Array;
  /** Σ w in ascending id order. */
  total: number;
  /** How many w are > 0. */
  count: number;
  /** Whether binCount/binMass describe this row (they are filled on first use). */
  binned: boolean;
}

/** Candidates ids[0..count): sorted by (w desc, id asc) when `sorted`, else in ascending id order. */
interface Kept {
  ids: Int32Array;
  count: number;
  sorted: boolean;
  /** Σ w over the kept candidates, in ascending id order. */
  mass: number;
}

let weightScratch = new Float64Array(0);
let idScratch = new Int32Array(0);
let idCopyScratch = new Int32Array(0);
let prefixScratch = new Int32Array(0);
let valueScratch = new Float64Array(0);
const binCount = new Int32Array(BINS);
const binMass = new Float64Array(BINS);
const binCountCopies = new Int32Array(BINS * BIN_COPIES);
const binMassCopies = new Float64Array(BINS * BIN_COPIES);
const thresholdBits = new Uint32Array(2);
const thresholdValue = new Float64Array(thresholdBits.buffer);

function scratchIds(n: number): Int32Array {
  if (idScratch.length < n) idScratch = new Int32Array(n);
  return idScratch;
}
function scratchIdCopy(n: number): Int32Array {
  if (idCopyScratch.length < n) idCopyScratch = new Int32Array(n);
  return idCopyScratch;
}
function scratchPrefix(n: number): Int32Array {
  if (prefixScratch.length < n) prefixScratch = new Int32Array(n);
  return prefixScratch;
}
function scratchValues(n: number): Float64Array {
  if (valueScratch.length < n) valueScratch = new Float64Array(n);
  return valueScratch;
}

/** Max-subtracted softmax weights in float64 (into the shared scratch buffer). */
function softmaxRow(logits: Float32Array, temperature: number): WeightedRow {
  const n = logits.length;
  if (n === 0) throw new RangeError("sampling: the logits row is empty");
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (v > max) max = v;
  }
  if (max === Number.NEGATIVE_INFINITY) {
    throw new RangeError("sampling: every logit is -Infinity or NaN, so no token can be sampled");
  }
  if (weightScratch.length < n) weightScratch = new Float64Array(n);
  const w = weightScratch;
  let total = 0;
  let count = 0;
  if (max === Number.POSITIVE_INFINITY) {
    // The +Infinity logits share all the mass.
    for (let i = 0; i < n; i++) {
      const isInf = logits[i] === Number.POSITIVE_INFINITY;
      w[i] = isInf ? 1 : 0;
      if (isInf) count++;
    }
    return { logits, w, total: count, count, binned: false };
  }
  let tiny = false;
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
    // Drop the weights whose probability is exactly 0 once divided by the sum, and recount.
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
  return { logits, w, total, count, binned: false };
}

/** Fills binCount/binMass for the row's weights (once per row). */
function binWeights(row: WeightedRow): void {
  if (row.binned) return;
  row.binned = true;
  const { w } = row;
  const n = row.logits.length;
  const bits = new Uint32Array(w.buffer, 0, 2 * n);
  const counts = binCountCopies;
  const masses = binMassCopies;
  counts.fill(0);
  masses.fill(0);
  for (let i = 0; i < n; i++) {
    const e = w[i] as number;
    if (e > 0) {
      const b =
        (((ONE_HIGH_WORD - (bits[2 * i + HIGH] as number)) >>> BIN_SHIFT) * BIN_COPIES) |
        (i & (BIN_COPIES - 1));
      counts[b] = (counts[b] as number) + 1;
      masses[b] = (masses[b] as number) + e;
    }
  }
  for (let b = 0; b < BINS; b++) {
    let c = 0;
    let m = 0;
    for (let k = 0; k < BIN_COPIES; k++) {
      c += counts[b * BIN_COPIES + k] as number;
      m += masses[b * BIN_COPIES + k] as number;
    }
    binCount[b] = c;
    binMass[b] = m;
  }
}

/**
 * The smallest weight threshold t (from whole histogram bins) such that {w >= t} holds at least `minCount`
 * candidates and at least `minMass` of weight (by the histogram's sums); 0 (everything) when none does.
 */
function histogramThreshold(row: WeightedRow, minCount: number, minMass: number): number {
  binWeights(row);
  let count = 0;
  let mass = 0;
  for (let b = 0; b < BINS; b++) {
    count += binCount[b] as number;
    mass += binMass[b] as number;
    if (count >= minCount && mass >= minMass) {
      if (count >= row.count) return 0;
      // The smallest float64 whose bin is <= b: high word ONE_HIGH_WORD - ((b + 1) << BIN_SHIFT) + 1, low 0.
      thresholdBits[HIGH] = ONE_HIGH_WORD - (b + 1) * 2 ** BIN_SHIFT + 1;
      thresholdBits[1 - HIGH] = 0;
      return thresholdValue[0] as number;
    }
  }
  return 0;
}

/** Collects ids with w > 0 and w >= t into ids[0..) in ascending id order; returns how many, and their mass. */
function collect(row: WeightedRow, t: number, ids: Int32Array): { size: number; mass: number } {
  const w = row.w;
  const n = row.logits.length;
  let size = 0;
  let mass = 0;
  for (let i = 0; i < n; i++) {
    const e = w[i] as number;
    if (e > 0 && e >= t) {
      ids[size++] = i;
      mass += e;
    }
  }
  return { size, mass };
}

function massOf(ids: Int32Array, size: number, w: Float64Array): number {
  let mass = 0;
  for (let j = 0; j < size; j++) mass += w[ids[j] as number] as number;
  return mass;
}

/** Applies topK -> topP -> minP. The result is sorted when `needSorted` or when topP is active. */
function keep(row: WeightedRow, o: SamplingOptions, needSorted: boolean): Kept {
  const { w, count } = row;
  const kCut = topKActive(o) && (o.topK as number) < count ? (o.topK as number) : count;
  const topP = topPActive(o) ? (o.topP as number) : 1;
  const minP = minPActive(o) ? (o.minP as number) : 0;
  const ids = scratchIds(row.logits.length);

  if (topP === 1) {
    // No cumulative sums: the kept set is found without sorting. minP keeps {w >= minP} (w_top = 1); topK
    // keeps the k best of a prefix holding at least k candidates.
    let t = 0;
    if (minP > 0) t = minP;
    else if (kCut < count) t = histogramThreshold(row, kCut, 0);
    let { size, mass } = collect(row, t, ids);
    if (size > kCut) {
      size = selectTop(ids, size, w, kCut);
      mass = massOf(ids, size, w);
    }
    if (needSorted) sortCandidates(ids, size, row);
    return { ids, count: size, sorted: needSorted, mass };
  }

  // topP: sort a prefix S of the candidates that holds the top k (topK) or the mass reaching p, then walk it.
  for (const exhaustive of [false, true]) {
    const t = exhaustive
      ? 0
      : kCut < count
        ? histogramThreshold(row, kCut, 0)
        : histogramThreshold(row, 0, topP * row.total * (1 + MASS_SLACK));
    let { size } = collect(row, t, ids);
    const whole = size >= kCut; // S holds the whole topK-kept set (with topK off: every candidate)
    if (size > kCut) size = selectTop(ids, size, w, kCut);
    const kMass = kCut < count ? massOf(ids, size, w) : row.total;
    const byId = scratchIdCopy(size);
    byId.set(ids.subarray(0, size));
    sortCandidates(ids, size, row);
    let kept = -1;
    let acc = 0;
    for (let j = 0; j < size; j++) {
      acc += w[ids[j] as number] as number;
      if (acc / kMass >= topP) {
        kept = j + 1;
        break;
      }
    }
    if (kept < 0) {
      if (!whole) continue; // the crossing lies beyond S (only when rounding defeats the slack)
      kept = size; // rounding kept the cumulative sum just below p: keep everything
    }
    if (minP > 0) {
      let j = 0;
      while (j < kept && (w[ids[j] as number] as number) >= minP) j++;
      kept = j;
    }
    // Σ w over the kept candidates in id order: those ranking at or above the last kept one.
    const lastId = ids[kept - 1] as number;
    const lastW = w[lastId] as number;
    let mass = 0;
    for (let j = 0; j < size; j++) {
      const id = byId[j] as number;
      const e = w[id] as number;
      if (e > lastW || (e === lastW && id <= lastId)) mass += e;
    }
    return { ids, count: kept, sorted: true, mass };
  }
  // Unreachable: with S holding every candidate the walk always decides.
  throw new Error("sampling: internal error, topP did not decide the candidate set");
}

/**
 * Inverse CDF over ids[0..m) (sorted): the first j with u < Σ_{i<=j} w_i / mass. When `partial`, returns -1
 * instead of falling back to the last candidate.
 */
function drawSorted(
  ids: Int32Array,
  m: number,
  w: Float64Array,
  mass: number,
  u: number,
  partial = false,
): number {
  let acc = 0;
  for (let j = 0; j < m; j++) {
    const id = ids[j] as number;
    acc += (w[id] as number) / mass;
    if (u < acc) return id;
  }
  return partial ? -1 : (ids[m - 1] as number);
}

/**
 * Reorders ids[0..s) so that ids[0..k) are the k best by (weight desc, id asc), still in ascending id
 * order, k < s; returns k. ids[0..s) must be in ascending id order.
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
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z)); // median of three
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
function sortCandidates(ids: Int32Array, m: number, row: WeightedRow): void {
  if (m < 2) return;
  const w = row.w;
  if (m > INSERTION_ONLY) radixSortByLogitDesc(ids, m, row.logits);
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
  let keys: Uint32Array = radixKeys;
  let keysOut: Uint32Array = radixKeysTmp;
  let src: Int32Array = ids;
  let dst: Int32Array = radixIdsTmp;
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
    for (let j = 0; j < m; j++) {
      const d = ((keys[j] as number) >>> shift) & RADIX_MASK;
      counts[d] = (counts[d] as number) + 1;
    }
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
    const swapKeys = keys;
    keys = keysOut;
    keysOut = swapKeys;
    const swapIds = src;
    src = dst;
    dst = swapIds;
  }
  if (src !== ids) ids.set(src.subarray(0, m));
}
