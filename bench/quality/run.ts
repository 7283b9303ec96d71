/**
 * Retrieval quality of shelf's default ranking on every collection in ../shared/eval
 * (CACM with both qrels files; qrels-test.tsv is the headline, as published numbers use
 * it), printed beside the published baselines, the reference table and targets.
 *   npx tsx bench/quality/run.ts [--backend postgres]
 * With `--backend postgres`, every collection runs again on the PostgreSQL store and both
 * nDCG@10 figures are printed side by side.
 */
import { join } from 'node:path';
import { runBeir, type BeirReport } from '../../src/eval/beir.js';
import {
  CACM_PUBLISHED,
  COLLECTIONS,
  EVAL_DIR,
  REFERENCE_NDCG,
  SCIFACT_PUBLISHED,
  TARGET_NDCG,
} from '../lib/collections.js';
import { f4, fms, table } from '../lib/measure.js';
import { benchBackends, openBenchPostgres } from '../lib/postgres.js';

const runs: { label: string; report: BeirReport }[] = [];
for (const spec of COLLECTIONS) {
  const files = spec.name === 'cacm' ? [spec.qrels, 'qrels-test-fixed.tsv'] : [spec.qrels];
  for (const qrels of files) {
    const report = await runBeir(join(EVAL_DIR, spec.name), { qrels });
    runs.push({ label: qrels === spec.qrels ? spec.name : `${spec.name} (${qrels})`, report });
  }
}

console.log('## shelf, default ranking\n');
console.log(
  table([
    [
      'collection',
      'docs',
      'chunks',
      'queries',
      'nDCG@10',
      'R@100',
      'MRR@10',
      'MAP',
      'P@30',
      'index ms',
      'p50 ms',
      'p99 ms',
      'warm p50',
      'warm p99',
    ],
    ...runs.map(({ label, report: r }) => [
      label,
      String(r.documents),
      String(r.chunks),
      String(r.queries),
      f4(r.metrics.ndcg10),
      f4(r.metrics.recall100),
      f4(r.metrics.mrr10),
      f4(r.metrics.map),
      f4(r.metrics.p30),
      fms(r.indexMs),
      fms(r.queryMs.p50),
      fms(r.queryMs.p99),
      fms(r.warmQueryMs.p50),
      fms(r.warmQueryMs.p99),
    ]),
  ]),
);

console.log('\n## nDCG@10 beside the issue table and targets\n');
const engines = ['anserini', 'fts5', 'minisearch', 'orama', 'flexsearch', 'lunr', 'wink'];
console.log(
  table([
    ['collection', 'shelf', 'target', 'met', ...engines, 'best peer'],
    ...COLLECTIONS.map((spec) => {
      const r = runs.find((x) => x.label === spec.name)?.report;
      const ref = REFERENCE_NDCG[spec.name] ?? {};
      const best = Math.max(...engines.map((e) => ref[e] ?? 0));
      const target = TARGET_NDCG[spec.name] ?? 0;
      const got = r?.metrics.ndcg10 ?? 0;
      return [
        spec.name,
        f4(got),
        f4(target),
        got >= target ? 'yes' : 'no',
        ...engines.map((e) => f4(ref[e])),
        f4(best),
      ];
    }),
  ]),
);

const cacm = runs.find((x) => x.label === 'cacm')?.report;
const scifact = runs.find((x) => x.label === 'scifact')?.report;
console.log('\n## Published baselines\n');
console.log(
  table([
    ['measure', 'shelf', 'BM25', 'BM25+RM3', 'QL', 'QL+RM3'],
    [
      'CACM MAP',
      f4(cacm?.metrics.map),
      f4(CACM_PUBLISHED.bm25.map),
      f4(CACM_PUBLISHED.bm25rm3.map),
      f4(CACM_PUBLISHED.ql.map),
      f4(CACM_PUBLISHED.qlrm3.map),
    ],
    [
      'CACM P@30',
      f4(cacm?.metrics.p30),
      f4(CACM_PUBLISHED.bm25.p30),
      f4(CACM_PUBLISHED.bm25rm3.p30),
      f4(CACM_PUBLISHED.ql.p30),
      f4(CACM_PUBLISHED.qlrm3.p30),
    ],
  ]),
);
console.log(
  '\n' +
    table([
      ['measure', 'shelf', 'BM25 flat', 'BM25 multifield'],
      [
        'SciFact nDCG@10',
        f4(scifact?.metrics.ndcg10),
        f4(SCIFACT_PUBLISHED.flat.ndcg10),
        f4(SCIFACT_PUBLISHED.multifield.ndcg10),
      ],
      [
        'SciFact R@100',
        f4(scifact?.metrics.recall100),
        f4(SCIFACT_PUBLISHED.flat.recall100),
        f4(SCIFACT_PUBLISHED.multifield.recall100),
      ],
    ]),
);
const mean =
  COLLECTIONS.reduce(
    (s, spec) => s + (runs.find((x) => x.label === spec.name)?.report.metrics.ndcg10 ?? 0),
    0,
  ) / COLLECTIONS.length;
console.log(`\nMean nDCG@10 over the four collections: ${f4(mean)}`);

// --backend postgres: the same collections on the PostgreSQL store, beside SQLite's figures.
if (benchBackends().includes('postgres')) {
  const rows: string[][] = [];
  let worst = 0;
  for (const spec of COLLECTIONS) {
    const sqlite = runs.find((x) => x.label === spec.name)?.report;
    const report = await runBeir(join(EVAL_DIR, spec.name), {
      qrels: spec.qrels,
      openStore: () => openBenchPostgres().store,
    });
    const delta = Math.abs(report.metrics.ndcg10 - (sqlite?.metrics.ndcg10 ?? 0));
    worst = Math.max(worst, delta);
    rows.push([
      spec.name,
      f4(sqlite?.metrics.ndcg10),
      f4(report.metrics.ndcg10),
      f4(delta),
      delta <= 0.01 ? 'yes' : 'no',
      fms(sqlite?.indexMs ?? 0),
      fms(report.indexMs),
      fms(sqlite?.queryMs.p50 ?? 0),
      fms(report.queryMs.p50),
      fms(sqlite?.warmQueryMs.p50 ?? 0),
      fms(report.warmQueryMs.p50),
    ]);
  }
  console.log('\n## PostgreSQL beside SQLite (nDCG@10 must agree within 0.01)\n');
  console.log(
    table([
      [
        'collection',
        'sqlite',
        'postgres',
        '|Δ|',
        'within',
        'index ms sqlite',
        'index ms pg',
        'p50 sqlite',
        'p50 pg',
        'warm p50 sqlite',
        'warm p50 pg',
      ],
      ...rows,
    ]),
  );
  console.log(`\nLargest nDCG@10 difference: ${f4(worst)}`);
  if (worst > 0.01) process.exitCode = 1;
}
