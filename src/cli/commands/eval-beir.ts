/** `shelf eval beir DIR`: retrieval quality on a BEIR-format collection (trec_eval metrics). */
import type { Command } from 'commander';
import { evalCommand, wholeNumber, type CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  evalCommand(program)
    .command('beir <dir>')
    .description(
      'index a BEIR collection (corpus.jsonl, queries.jsonl, qrels) in a temporary store and report nDCG@10, Recall@100, MRR@10, MAP, P@30 and latency',
    )
    .option('--qrels <file>', 'the qrels file inside the directory', 'qrels-test.tsv')
    .option('--hits <n>', 'results retrieved per query', wholeNumber('--hits', 10_000), 1000)
    .option('--json', 'JSON output')
    .action(async (dir: string, o: { qrels: string; hits: number; json?: boolean }) => {
      const { runBeirCommand } = await import('../../eval/beir-command.js');
      await runBeirCommand(
        dir,
        { qrels: o.qrels, hits: o.hits, ...(o.json ? { json: true } : {}) },
        { stdout: ctx.io.stdout },
      );
    });
}
