/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each candidate list
 * votes 1 / (k + rank) for every item it holds (rank 1-based), and items are ordered by the
 * sum of their votes. Only ranks count, so BM25 scores and cosine similarities, which live
 * on unrelated scales, need no calibration; k = 60 damps the weight of the very top ranks.
 * Ties keep the order of first appearance across the lists (in list order), so the result
 * is deterministic.
 */

/** The constant of the original paper. */
export const RRF_K = 60;

export interface RankedList {
  /** A name for the trace ("bm25", "dense"). */
  readonly name: string;
  /** Item ids, best first; repeats after the first are ignored. */
  readonly ids: readonly number[];
  /** Weight of this list's votes (default 1). */
  readonly weight?: number;
}

export interface FusedItem {
  readonly id: number;
  /** Sum of the lists' votes. */
  readonly score: number;
  /** The item's 1-based rank in each list that holds it, by list name. */
  readonly ranks: Readonly<Record<string, number>>;
}

export function fuseRanks(lists: readonly RankedList[], options: { readonly k?: number } = {}): FusedItem[] {
  const k = options.k ?? RRF_K;
  const items = new Map<
    number,
    { id: number; score: number; ranks: Record<string, number>; first: number }
  >();
  let order = 0;
  for (const list of lists) {
    const weight = list.weight ?? 1;
    let rank = 0;
    const seen = new Set<number>();
    for (const id of list.ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      rank++;
      let item = items.get(id);
      if (!item) items.set(id, (item = { id, score: 0, ranks: {}, first: order++ }));
      item.score += weight / (k + rank);
      item.ranks[list.name] = rank;
    }
  }
  return [...items.values()]
    .sort((a, b) => b.score - a.score || a.first - b.first)
    .map(({ id, score, ranks }) => ({ id, score, ranks }));
}
