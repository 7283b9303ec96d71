/**
 * The public test collections in ../shared/eval and the numbers published or measured for
 * them, shared by the quality, peer and scale benchmarks.
 */
import { sharedPath } from '../../src/test-support/shared.js';

export const EVAL_DIR = sharedPath('eval');

export interface CollectionSpec {
  readonly name: string;
  /** The headline judgments file (the one published numbers use). */
  readonly qrels: string;
}

/** The four collections, each with its headline qrels. */
export const COLLECTIONS: readonly CollectionSpec[] = [
  { name: 'scifact', qrels: 'qrels-test.tsv' },
  { name: 'cacm', qrels: 'qrels-test.tsv' },
  { name: 'cisi', qrels: 'qrels-test.tsv' },
  { name: 'cranfield', qrels: 'qrels-test.tsv' },
];

/** nDCG@10 from the table (measured on this machine) and the published baselines. */
export const REFERENCE_NDCG: Readonly<Record<string, Readonly<Record<string, number | undefined>>>> = {
  scifact: {
    anserini: 0.6789,
    fts5: 0.6885,
    minisearch: 0.6296,
    orama: 0.3992,
    flexsearch: 0.5454,
    lunr: 0.6696,
    wink: 0.6866,
  },
  cacm: { fts5: 0.4762, minisearch: 0.3592, orama: 0.2654, flexsearch: 0.3159, lunr: 0.5136, wink: 0.4769 },
  cisi: { fts5: 0.3634, minisearch: 0.2716, orama: 0.1937, flexsearch: 0.2188, lunr: 0.3922, wink: 0.4004 },
  cranfield: {
    fts5: 0.3671,
    minisearch: 0.3268,
    orama: 0.2371,
    flexsearch: 0.2582,
    lunr: 0.3852,
    wink: 0.3743,
  },
};

/** The nDCG@10 targets. */
export const TARGET_NDCG: Readonly<Record<string, number>> = {
  scifact: 0.709,
  cacm: 0.529,
  cisi: 0.412,
  cranfield: 0.397,
};

/** CACM's published MAP / P@30 (Anserini regression, qrels-test.tsv). */
export const CACM_PUBLISHED = {
  bm25: { map: 0.3123, p30: 0.1942 },
  bm25rm3: { map: 0.3648, p30: 0.2224 },
  ql: { map: 0.3265, p30: 0.1942 },
  qlrm3: { map: 0.3629, p30: 0.225 },
};

/** SciFact's published BM25 (Pyserini 2CR). */
export const SCIFACT_PUBLISHED = {
  flat: { ndcg10: 0.6789, recall100: 0.9253 },
  multifield: { ndcg10: 0.6647, recall100: 0.9076 },
};
