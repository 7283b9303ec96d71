/**
 * The best k of a set of scored ids, best first, ties to the lower id: the last step of
 * every ranking pass, over up to a thousand hits (bench/peers asks for 1,000) out of every
 * candidate.
 *
 * Why not `Array.prototype.sort` with a comparator: at 1,000–100,000 hits, calling a
 * JavaScript comparator n·log n times was a sixth of a Cranfield query. A stable
 * least-significant-digit radix sort on the keys' bits (11 bits a pass, passes where every
 * key has the same digit skipped) orders the same hits in a few linear passes over typed
 * arrays, and is exact: a double's IEEE 754 bits, sign-adjusted, order as the double does.
 */

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const DIGIT_MASK = BUCKETS - 1;

/** Scratch for one radix pass (counts per digit); shared, as ranking is synchronous. */
const counts = new Uint32Array(BUCKETS);

/**
 * One stable counting-sort pass of `order` (positions into `keys`) by the digit of
 * `keys[position]` at `shift`, into `out`; false (and `out` untouched) when every key has
 * the same digit there, so the pass changes nothing.
 */
function radixPass(order: Uint32Array, keys: Uint32Array, shift: number, out: Uint32Array): boolean {
  counts.fill(0);
  const n = order.length;
  for (let i = 0; i < n; i++) {
    const d = ((keys[order[i] ?? 0] ?? 0) >>> shift) & DIGIT_MASK;
    counts[d] = (counts[d] ?? 0) + 1;
  }
  const first = ((keys[order[0] ?? 0] ?? 0) >>> shift) & DIGIT_MASK;
  if (counts[first] === n) return false;
  let at = 0;
  for (let d = 0; d < BUCKETS; d++) {
    const c = counts[d] ?? 0;
    counts[d] = at;
    at += c;
  }
  for (let i = 0; i < n; i++) {
    const p = order[i] ?? 0;
    const d = ((keys[p] ?? 0) >>> shift) & DIGIT_MASK;
    const to = counts[d] ?? 0;
    out[to] = p;
    counts[d] = to + 1;
  }
  return true;
}

/** Sorts `order` stably by the 32-bit `keys` of its positions, ascending. */
function sortByKey(order: Uint32Array, keys: Uint32Array, scratch: Uint32Array): void {
  let from = order;
  let to = scratch;
  for (let shift = 0; shift < 32; shift += DIGIT_BITS) {
    if (!radixPass(from, keys, shift, to)) continue;
    [from, to] = [to, from];
  }
  if (from !== order) order.set(from);
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the high 32 bits of a double in `words` (the platform's byte order). */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Scratch for one call of topK or orderByScore, kept between calls up to KEPT_SCRATCH
 * entries (ranking is synchronous, so calls never overlap): a Cranfield query allocated
 * eight typed arrays here, each a buffer outside the heap for the garbage collector to sweep.
 */
interface Scratch {
  readonly size: number;
  /** Scores read from the caller's function, and a copy for quickselect to reorder. */
  readonly values: Float64Array;
  readonly selectable: Float64Array;
  readonly chosenIds: Uint32Array;
  readonly chosenScores: Float64Array;
  readonly order: Uint32Array;
  readonly spare: Uint32Array;
  readonly keys: Uint32Array;
  readonly high: Uint32Array;
}

/** Entries of scratch kept between calls (a larger call allocates its own): 3.6 MB. */
const KEPT_SCRATCH = 1 << 16;

function makeScratch(size: number): Scratch {
  return {
    size,
    values: new Float64Array(size),
    selectable: new Float64Array(size),
    chosenIds: new Uint32Array(size),
    chosenScores: new Float64Array(size),
    order: new Uint32Array(size),
    spare: new Uint32Array(size),
    keys: new Uint32Array(size),
    high: new Uint32Array(size),
  };
}

let kept = makeScratch(1024);

/** Scratch for `n` entries. */
function scratchFor(n: number): Scratch {
  if (n <= kept.size) return kept;
  const fresh = makeScratch(Math.max(n, Math.min(KEPT_SCRATCH, 2 * kept.size)));
  if (fresh.size <= KEPT_SCRATCH) kept = fresh;
  return fresh;
}

/**
 * Writes into `order` the positions 0..n−1 of `scores`, highest score first, equal scores
 * by ascending `ids`; `spare`, `keys` and `high` are scratch of n entries.
 */
function orderInto(
  scores: Float64Array,
  ids: ArrayLike<number>,
  n: number,
  { order, spare, keys, high }: Pick<Scratch, 'order' | 'spare' | 'keys' | 'high'>,
): void {
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return;
  const positions = order.subarray(0, n);
  const scratch = spare.subarray(0, n);
  // Least significant first: ids ascending, then the score's low word, then its high word.
  for (let i = 0; i < n; i++) keys[i] = ids[i] ?? 0;
  sortByKey(positions, keys, scratch);
  for (let i = 0; i < n; i++) {
    // + 0 turns −0 into 0, which the comparator this replaces held equal.
    bits[0] = (scores[i] ?? 0) + 0;
    let hi = words[HIGH] ?? 0;
    let lo = words[1 - HIGH] ?? 0;
    // Order-preserving unsigned form: negatives with every bit flipped, others with the sign
    // bit set; then every bit flipped again, for highest first.
    if (hi >>> 31 === 1) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    } else hi = (hi | 0x80000000) >>> 0;
    keys[i] = ~lo >>> 0;
    high[i] = ~hi >>> 0;
  }
  sortByKey(positions, keys, scratch);
  sortByKey(positions, high, scratch);
}

/**
 * Positions 0..n−1 of `scores`, highest score first, equal scores by ascending `ids`.
 * NaN scores are not expected (rankers produce finite scores).
 */
export function orderByScore(scores: Float64Array, ids: ArrayLike<number>): Uint32Array {
  const n = scores.length;
  const order = new Uint32Array(n);
  const scratch = scratchFor(n);
  orderInto(scores, ids, n, { ...scratch, order });
  return order;
}

/** The k-th largest of `values` (1 ≤ k ≤ values.length), by quickselect; reorders `values`. */
export function kthLargestValue(values: Float64Array, k: number): number {
  // Select index k - 1 of the values in descending order.
  const target = k - 1;
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1] ?? 0;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] ?? 0) > pivot) i++;
      while ((values[j] ?? 0) < pivot) j--;
      if (i <= j) {
        const t = values[i] ?? 0;
        values[i] = values[j] ?? 0;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return values[target] ?? 0;
}

/**
 * The `capacity` best ids by score, best first; ties favour the lower id. The result is a
 * view of scratch that the next call overwrites: read it before calling again.
 */
export function topK(ids: ArrayLike<number>, score: (id: number) => number, capacity: number): Uint32Array {
  const n = ids.length;
  if (capacity <= 0 || n === 0) return new Uint32Array(0);
  const scratch = scratchFor(n);
  const { chosenIds, chosenScores } = scratch;
  let chosen = n;
  if (n <= capacity) {
    for (let i = 0; i < n; i++) {
      const id = ids[i] ?? 0;
      chosenIds[i] = id;
      chosenScores[i] = score(id);
    }
  } else {
    const { values, selectable } = scratch;
    for (let i = 0; i < n; i++) {
      const v = score(ids[i] ?? 0);
      values[i] = v;
      selectable[i] = v;
    }
    // Everything above the capacity-th best score, then the lowest ids at that score.
    const threshold = kthLargestValue(selectable.subarray(0, n), capacity);
    chosen = capacity;
    let above = 0;
    const tied: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = values[i] ?? 0;
      if (v > threshold) {
        chosenIds[above] = ids[i] ?? 0;
        chosenScores[above++] = v;
      } else if (v === threshold) tied.push(ids[i] ?? 0);
    }
    tied.sort((a, b) => a - b);
    for (let t = 0; above < capacity; t++) {
      chosenIds[above] = tied[t] ?? 0;
      chosenScores[above++] = threshold;
    }
  }
  orderInto(chosenScores, chosenIds, chosen, scratch);
  // The ids in order, written over the radix keys (no longer read).
  const { order, keys } = scratch;
  for (let i = 0; i < chosen; i++) keys[i] = chosenIds[order[i] ?? 0] ?? 0;
  return keys.subarray(0, chosen);
}
