/**
 * `shelf ask`, `shelf chat` and `shelf eval qa`: cited extractive answers with an optional
 * trace, a line-by-line conversation (terminal or pipe), and the QA evaluation.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ask, parseRouteType, type AskDeps, type AskResult } from '../../ask/ask.js';
import { runChat } from '../../ask/chat.js';
import { displayUrl, formatTrace } from '../../ask/trace.js';
import { ShelfError } from '../../core/errors.js';
import { formatQaReport, parseQa, runQa } from '../../eval/qa.js';
import { kbOption, wholeNumber, type CliContext } from '../context.js';
import type { Style } from '../format.js';

function deps(ctx: CliContext): AskDeps {
  const app = ctx.app();
  return { store: app.store, clock: app.clock };
}

/** The answer and its sources, for people. */
export function formatAnswer(result: AskResult, style: Style): string {
  const lines = [result.answer.text, ''];
  if (result.citations.length > 0) {
    lines.push(style.bold('Sources'));
    for (const c of result.citations)
      lines.push(`[${c.n}] ${c.label}${c.url ? style.dim(` <${displayUrl(c.url)}>`) : ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** What `--json` prints: the answer, its citations and the trace (not the raw chunk records). */
export function answerJson(result: AskResult): unknown {
  return {
    question: result.question,
    kb: result.kb,
    route: result.route,
    answer: {
      text: result.answer.text,
      shape: result.answer.shape,
      declined: result.answer.declined,
      ...(result.answer.followUp !== undefined ? { followUp: result.answer.followUp } : {}),
      parts: result.answer.parts,
    },
    citations: result.citations,
    context: result.context.citations,
    nearest: result.nearest,
    primer: result.primer,
    trace: result.trace,
  };
}

function evalCommand(program: Command): Command {
  // `eval` may already exist (another module adds `eval beir`): add to it rather than clash.
  const existing = program.commands.find((c) => c.name() === 'eval');
  return existing ?? program.command('eval').description('evaluate retrieval and answers');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ask <question...>')
    .description('answer a question from the knowledge base, with citations')
    .addOption(kbOption())
    .option('--route <type>', 'question type: lookup, howto, code, summary, comparison, list, catalog, vague')
    .option('--budget <tokens>', 'context budget in tokens', wholeNumber('--budget', 100_000))
    .option('--trace', 'print the stages: route, primer, retrieval, context, answer, with times')
    .option('--json', 'JSON output: answer, citations and trace')
    .action(
      async (
        words: string[],
        o: { kb: string; route?: string; budget?: number; trace?: boolean; json?: boolean },
      ) => {
        const kb = ctx.checkKbName(o.kb);
        const result = await ask(deps(ctx), {
          question: words.join(' '),
          kb,
          ...(o.route !== undefined ? { route: parseRouteType(o.route) } : {}),
          ...(o.budget !== undefined ? { budget: o.budget } : {}),
        });
        if (o.json) ctx.json(answerJson(result));
        else if (o.trace)
          ctx.io.stdout.write(
            formatTrace({
              question: result.question,
              kb: result.kb,
              trace: result.trace,
              answer: result.answer.text,
              citations: result.citations,
            }),
          );
        else ctx.io.stdout.write(formatAnswer(result, ctx.style) + '\n');
      },
    );

  program
    .command('chat')
    .description('ask questions line by line; follow-ups use the conversation so far')
    .addOption(kbOption())
    .option('--trace', 'print each answer with its trace')
    .option('--json', 'one JSON object per answer (JSON Lines)')
    .action(async (o: { kb: string; trace?: boolean; json?: boolean }) => {
      const kb = ctx.checkKbName(o.kb);
      const stdin = ctx.io.stdin;
      if (!stdin) throw new ShelfError('USAGE', { detail: 'shelf chat needs standard input.' });
      const rl = createInterface({ input: stdin, terminal: false, crlfDelay: Infinity });
      const interactive = ctx.io.isTTY && !o.json;
      try {
        await runChat({
          deps: deps(ctx),
          kb,
          lines: rl,
          ...(interactive ? { onPrompt: () => ctx.io.stdout.write('> ') } : {}),
          onAnswer: (result) => {
            if (o.json) ctx.io.stdout.write(JSON.stringify(answerJson(result)) + '\n');
            else if (o.trace)
              ctx.io.stdout.write(
                formatTrace({
                  question: result.question,
                  kb: result.kb,
                  trace: result.trace,
                  answer: result.answer.text,
                  citations: result.citations,
                }) + '\n',
              );
            else ctx.io.stdout.write(formatAnswer(result, ctx.style) + '\n');
          },
          onError: (err) => {
            ctx.io.stderr.write(`shelf: ${err.message}\n  ${err.hint}\n`);
          },
        });
      } finally {
        rl.close();
      }
    });

  evalCommand(program)
    .command('qa <file>')
    .description('hit@1/hit@5, citation precision, declines and follow-ups over a JSONL question set')
    .addOption(kbOption())
    .option('--json', 'JSON output')
    .action(async (file: string, o: { kb: string; json?: boolean }) => {
      const kb = ctx.checkKbName(o.kb);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new ShelfError('PATH_NOT_FOUND', { path: file }, { cause: e });
      }
      const questions = parseQa(text, file);
      const report = await runQa(deps(ctx), { kb, questions });
      if (o.json) ctx.json(report);
      else ctx.io.stdout.write(formatQaReport(report));
    });
}
