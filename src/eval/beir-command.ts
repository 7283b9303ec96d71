/**
 * `shelf eval beir <dir>`: scores shelf's ranking on a BEIR-layout test collection and
 * prints the trec_eval measures with indexing and query times. The CLI wires it up; this
 * module only formats and writes.
 */
import { ShelfError } from '../core/errors.js';
import { runBeir, type BeirReport } from './beir.js';

export interface BeirCommandOptions {
  /** Judgments file inside the directory (default qrels-test.tsv). */
  readonly qrels?: string;
  /** Documents retrieved per query (default 1000). */
  readonly hits?: number;
  /** Print the report as JSON. */
  readonly json?: boolean;
}

export interface BeirCommandIo {
  readonly stdout: { write(s: string): unknown };
}

const f4 = (x: number): string => x.toFixed(4);
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));

/** The report as aligned text lines. */
export function formatBeirReport(r: BeirReport): string {
  const m = r.metrics;
  const lines = [
    `${r.name} (${r.qrels}): ${r.documents} documents in ${r.chunks} chunks, ${r.queries} judged queries` +
      (r.missingQueries > 0 ? ` (${r.missingQueries} without text, scored 0)` : ''),
    `  nDCG@10    ${f4(m.ndcg10)}`,
    `  Recall@100 ${f4(m.recall100)}`,
    `  MRR@10     ${f4(m.mrr10)}`,
    `  MAP        ${f4(m.map)}`,
    `  P@30       ${f4(m.p30)}`,
    `  indexing   ${ms(r.indexMs)} ms`,
    `  query      p50 ${ms(r.queryMs.p50)} ms, p99 ${ms(r.queryMs.p99)} ms (warm: p50 ${ms(r.warmQueryMs.p50)} ms, p99 ${ms(r.warmQueryMs.p99)} ms)`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * Runs the collection in `dir` and writes the report to `io.stdout`. Throws ShelfError
 * (EVAL_MISSING, EVAL_INVALID, EVAL_EMPTY, INVALID_OPTION) for the CLI to report.
 */
export async function runBeirCommand(
  dir: string,
  options: BeirCommandOptions,
  io: BeirCommandIo,
): Promise<void> {
  if (
    options.hits !== undefined &&
    (!Number.isInteger(options.hits) || options.hits < 1 || options.hits > 10_000)
  )
    throw new ShelfError('INVALID_OPTION', {
      option: '--hits',
      value: options.hits,
      expected: 'Use a whole number from 1 to 10000.',
    });
  if (options.qrels !== undefined && /[\\/]/.test(options.qrels))
    throw new ShelfError('INVALID_OPTION', {
      option: '--qrels',
      value: options.qrels,
      expected: 'Give a file name inside the collection directory, e.g. qrels-test.tsv.',
    });
  const report = await runBeir(dir, {
    ...(options.qrels !== undefined ? { qrels: options.qrels } : {}),
    ...(options.hits !== undefined ? { hits: options.hits } : {}),
  });
  io.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatBeirReport(report));
}
