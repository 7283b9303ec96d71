/**
 * In_expB2, a divergence-from-randomness term weight (Amati & van Rijsbergen, "Probabilistic
 * models of information retrieval based on measuring the divergence from randomness", ACM
 * TOIS 2002), added to BM25F as a second score family (./rank.ts, ./document-score.ts).
 *
 * With N chunks, a term in df of them and F weighted occurrences over all of them:
 *   tfn     = Σ_f w_f · tf_f · log2(1 + c · avglen_f / len_f)      (normalisation 2, per field)
 *   n_e     = N · (1 − ((N − 1) / N)^F)                             (expected df under randomness)
 *   weight  = (F + 1) / (df · (tfn + 1)) · tfn · log2((N + 1) / (n_e + 0.5))
 * "In_exp" is the information content of the term under randomness, measured through the
 * document frequency that F occurrences thrown at random would give; "B2" is the Bernoulli
 * after-effect, which saturates repeated occurrences.
 *
 * Why a second family: BM25F and In_expB2 differ mostly in how field length and common
 * words count (In_expB2's length normalisation is logarithmic, its idf is computed from the
 * collection count); their sum ranked better than either alone on the four test collections
 * (bench/README.md).
 */

/** In_expB2's share of the score. */
export interface DfrOptions {
  /** Weight of In_expB2 added to BM25F (0 = BM25F alone). */
  readonly weight: number;
  /** Normalisation 2's c: larger values favour longer fields. */
  readonly c: number;
}

/** The settings when In_expB2 counts (a positive weight), else undefined. */
export function activeDfr(dfr: DfrOptions | false): DfrOptions | undefined {
  return dfr && dfr.weight > 0 ? dfr : undefined;
}

/**
 * Σ_f w_f · tf_f over every posting of one term (In_expB2's F), from its per-field counts
 * (`fieldWeights.length` values per posting).
 */
export function weightedOccurrences(fieldTf: ArrayLike<number>, fieldWeights: readonly number[]): number {
  const fields = fieldWeights.length;
  let total = 0;
  for (let i = 0; i < fieldTf.length; i++) total += (fieldWeights[i % fields] ?? 0) * (fieldTf[i] ?? 0);
  return total;
}

/** Normalisation 2 summed over the weighted fields (tfn above). */
export function normalisedTf(
  tf: ArrayLike<number>,
  lengths: ArrayLike<number>,
  avgLengths: ArrayLike<number>,
  fieldWeights: readonly number[],
  c: number,
): number {
  let tfn = 0;
  for (let f = 0; f < fieldWeights.length; f++) {
    const count = tf[f] ?? 0;
    const len = lengths[f] ?? 0;
    const avg = avgLengths[f] ?? 0;
    if (count > 0 && len > 0 && avg > 0)
      tfn += (fieldWeights[f] ?? 0) * count * Math.log2(1 + (c * avg) / len);
  }
  return tfn;
}

/**
 * The part of In_expB2 that depends on the term alone, (F + 1) / df · log2((N + 1) / (n_e + 0.5)),
 * for a term in `df` of `n` chunks with `occurrences` weighted occurrences in all: a chunk's
 * weight is this times tfn / (tfn + 1). Never negative.
 */
export function inExpB2Factor(df: number, occurrences: number, n: number): number {
  if (df <= 0 || n <= 0) return 0;
  const expectedDf = n * (1 - Math.pow((n - 1) / n, occurrences));
  const factor = ((occurrences + 1) / df) * Math.log2((n + 1) / (expectedDf + 0.5));
  return factor > 0 ? factor : 0;
}

/**
 * The In_expB2 weight of a term with normalised frequency `tfn` in a chunk, for a term in
 * `df` of `n` chunks with `occurrences` weighted occurrences in all. Never negative.
 */
export function inExpB2(tfn: number, df: number, occurrences: number, n: number): number {
  return tfn > 0 ? (inExpB2Factor(df, occurrences, n) * tfn) / (tfn + 1) : 0;
}
