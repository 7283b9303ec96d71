/**
 * Retrieval metrics with trec_eval's definitions (`trec_eval -c`), so numbers compare with
 * published baselines (see shared/eval/README.md):
 * - each query's run is re-sorted by score descending, ties broken by document id in
 *   descending string order (trec_eval ignores the rank column), and cut at 1000;
 * - nDCG@10 uses linear gain (the qrels grade) and log2(rank + 1) discount; the ideal DCG
 *   sorts every judged grade > 0 descending;
 * - Recall@100 and MAP divide by every relevant judged document, retrieved or not;
 * - P@30 divides by 30 even when fewer were retrieved; MRR@10 is 1/rank of the first
 *   relevant document in the top 10;
 * - means are over every query in the qrels (`-c`): a query with no run scores 0.
 */

/** Graded judgments: query id → document id → grade (> 0 is relevant). */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface Retrieved {
  readonly docId: string;
  readonly score: number;
}

/** Query id → retrieved documents (any order; they are re-sorted as trec_eval does). */
export type Run = ReadonlyMap<string, readonly Retrieved[]>;

export interface QueryMetrics {
  readonly ndcg10: number;
  readonly recall100: number;
  readonly mrr10: number;
  readonly ap: number;
  readonly p30: number;
}

export interface Metrics {
  readonly ndcg10: number;
  readonly recall100: number;
  readonly mrr10: number;
  readonly map: number;
  readonly p30: number;
  /** Queries averaged over (every query in the qrels). */
  readonly queries: number;
}

/** trec_eval keeps at most this many documents per query. */
export const MAX_RANK = 1000;

/** trec_eval's order: score descending, then document id descending (string order). */
export function trecOrder(run: readonly Retrieved[]): Retrieved[] {
  return [...run]
    .sort((a, b) => {
      if (a.score !== b.score) return b.score - a.score;
      return a.docId < b.docId ? 1 : a.docId > b.docId ? -1 : 0;
    })
    .slice(0, MAX_RANK);
}

/** Metrics of one query's run against that query's judgments. */
export function queryMetrics(run: readonly Retrieved[], judged: ReadonlyMap<string, number>): QueryMetrics {
  const ranked = trecOrder(run);
  const grades = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  const relevant = grades.length;
  let dcg = 0;
  let idcg = 0;
  for (let i = 0; i < Math.min(10, grades.length); i++) idcg += (grades[i] ?? 0) / Math.log2(i + 2);
  let found = 0;
  let found100 = 0;
  let found30 = 0;
  let precisionSum = 0;
  let mrr = 0;
  ranked.forEach((r, i) => {
    const grade = judged.get(r.docId) ?? 0;
    if (grade <= 0) return;
    found++;
    precisionSum += found / (i + 1);
    if (i < 10) {
      dcg += grade / Math.log2(i + 2);
      if (mrr === 0) mrr = 1 / (i + 1);
    }
    if (i < 30) found30++;
    if (i < 100) found100++;
  });
  return {
    ndcg10: idcg > 0 ? dcg / idcg : 0,
    recall100: relevant > 0 ? found100 / relevant : 0,
    mrr10: mrr,
    ap: relevant > 0 ? precisionSum / relevant : 0,
    p30: found30 / 30,
  };
}

/** Mean metrics over every query in `qrels`; queries absent from `run` score 0. */
export function evaluate(run: Run, qrels: Qrels): Metrics {
  let ndcg10 = 0;
  let recall100 = 0;
  let mrr10 = 0;
  let map = 0;
  let p30 = 0;
  for (const [qid, judged] of qrels) {
    const m = queryMetrics(run.get(qid) ?? [], judged);
    ndcg10 += m.ndcg10;
    recall100 += m.recall100;
    mrr10 += m.mrr10;
    map += m.ap;
    p30 += m.p30;
  }
  const n = qrels.size;
  const mean = (x: number): number => (n > 0 ? x / n : 0);
  return {
    ndcg10: mean(ndcg10),
    recall100: mean(recall100),
    mrr10: mean(mrr10),
    map: mean(map),
    p30: mean(p30),
    queries: n,
  };
}
