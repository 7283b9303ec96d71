/**
 * `shelf ask`, `shelf chat`, `shelf embed` and `shelf eval qa`: cited answers (extractive
 * offline; generated and streamed with a model, `--model` or SHELF_LLM_*) with an optional
 * trace, a line-by-line conversation (terminal or pipe), (re-)embedding a knowledge base
 * with progress, and the QA evaluation.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ask, parseRouteType, type AskDeps, type AskResult } from '../../ask/ask.js';
import { runChat } from '../../ask/chat.js';
import { displayUrl, formatTrace } from '../../ask/trace.js';
import { ShelfError } from '../../core/errors.js';
import { runEmbedding } from '../../embed/embeddings.js';
import { llmFromConfig } from '../../llm/openai-llm.js';
import { evalCommand, kbOption, wholeNumber, type CliContext } from '../context.js';
import type { Style } from '../format.js';

/** The ask dependencies: the app's seams, with `--model` choosing the chat model. */
function deps(ctx: CliContext, model?: string): AskDeps {
  const app = ctx.app();
  const llm = model !== undefined ? llmFromConfig(app.config, { model }) : app.llm;
  return {
    store: app.store,
    clock: app.clock,
    ...(llm ? { llm } : {}),
    ...(app.embedder ? { embedder: app.embedder, denseCandidates: app.config.embed.candidates } : {}),
  };
}

/** Notes under a generated answer: incomplete, unsupported sentences. */
export function formatNotes(result: AskResult, style: Style): string {
  const lines: string[] = [];
  const g = result.answer.generation;
  if (g && !g.complete)
    lines.push(style.bold(`[incomplete: ${g.incompleteReason ?? 'the answer stopped early'}]`));
  if (g)
    for (const s of g.sentences.filter((x) => x.unsupported))
      lines.push(
        style.dim(`unsupported by its sources (support ${s.support?.toFixed(2) ?? '?'}): "${s.text}"`),
      );
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

function formatSources(result: AskResult, style: Style): string {
  if (result.citations.length === 0) return '';
  const lines = [style.bold('Sources')];
  for (const c of result.citations)
    lines.push(`[${c.n}] ${c.label}${c.url ? style.dim(` <${displayUrl(c.url)}>`) : ''}`);
  return lines.join('\n') + '\n';
}

/** Prints a model failure as one line on stderr (the extractive answer follows on stdout). */
function warnFallback(ctx: CliContext, result: AskResult): void {
  const f = result.answer.fallback;
  if (f) ctx.io.stderr.write(`shelf: ${f.message} Answered without the model.\n  ${f.hint}\n`);
}

/** The answer and its sources, for people. */
export function formatAnswer(result: AskResult, style: Style): string {
  const lines = [result.answer.text, ''];
  const notes = formatNotes(result, style);
  if (notes !== '') lines.push(notes);
  const sources = formatSources(result, style);
  if (sources !== '') lines.push(sources);
  return lines.join('\n');
}

/**
 * Runs a question, streaming a generated answer to stdout as it arrives (terminal output
 * only, not --json or --trace); the notes and sources follow it.
 */
async function askAndPrint(
  ctx: CliContext,
  d: AskDeps,
  request: Parameters<typeof ask>[1],
  o: { trace?: boolean; json?: boolean },
): Promise<void> {
  let streamed = false;
  const stream = d.llm !== undefined && !o.json && !o.trace;
  const result = await ask(d, {
    ...request,
    ...(stream
      ? {
          onToken: (t: string) => {
            streamed = true;
            ctx.io.stdout.write(t);
          },
        }
      : {}),
  });
  warnFallback(ctx, result);
  if (o.json) ctx.json(answerJson(result));
  else if (o.trace) ctx.io.stdout.write(traceText(result));
  else if (streamed) {
    const notes = formatNotes(result, ctx.style);
    const sources = formatSources(result, ctx.style);
    ctx.io.stdout.write(`\n\n${notes}${notes !== '' && sources !== '' ? '\n' : ''}${sources}\n`);
  } else ctx.io.stdout.write(formatAnswer(result, ctx.style) + '\n');
}

function traceText(result: AskResult): string {
  return formatTrace({
    question: result.question,
    kb: result.kb,
    trace: result.trace,
    answer: result.answer.text,
    citations: result.citations,
  });
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
      ...(result.answer.generation ? { generation: result.answer.generation } : {}),
      ...(result.answer.fallback ? { fallback: result.answer.fallback } : {}),
    },
    citations: result.citations,
    context: result.context.citations,
    nearest: result.nearest,
    primer: result.primer,
    trace: result.trace,
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ask <question...>')
    .description('answer a question from the knowledge base, with citations')
    .addOption(kbOption())
    .option('--route <type>', 'question type: lookup, howto, code, summary, comparison, list, catalog, vague')
    .option('--budget <tokens>', 'context budget in tokens', wholeNumber('--budget', 100_000))
    .option('--trace', 'print the stages: route, primer, retrieval, context, answer, with times')
    .option('--json', 'JSON output: answer, citations, support checks and trace')
    .option('--model <name>', 'generate the answer with this model (server: SHELF_LLM_URL or llm.url)')
    .action(
      async (
        words: string[],
        o: { kb: string; route?: string; budget?: number; trace?: boolean; json?: boolean; model?: string },
      ) => {
        const kb = ctx.checkKbName(o.kb);
        await askAndPrint(
          ctx,
          deps(ctx, o.model),
          {
            question: words.join(' '),
            kb,
            ...(o.route !== undefined ? { route: parseRouteType(o.route) } : {}),
            ...(o.budget !== undefined ? { budget: o.budget } : {}),
          },
          o,
        );
      },
    );

  program
    .command('embed')
    .description('embed (or re-embed after a model change) every chunk of a knowledge base, with progress')
    .addOption(kbOption())
    .option('--json', 'JSON output')
    .action(async (o: { kb: string; json?: boolean }) => {
      const kb = await ctx.requireKb(o.kb);
      const app = ctx.app();
      if (!app.embedder)
        throw new ShelfError('MODEL_NOT_CONFIGURED', { service: 'embedding', detail: 'shelf embed' });
      const bar = ctx.progress(!o.json);
      let r;
      try {
        r = await runEmbedding({
          store: app.store,
          embedder: app.embedder,
          kbId: kb.id,
          progress: bar,
          batchSize: app.config.embed.batchSize,
        });
      } finally {
        bar.stop();
      }
      if (o.json) ctx.json(r);
      else
        ctx.io.stdout.write(
          `${r.kb}: ${r.embedded} chunks embedded with ${r.model} (${r.dimension} dimensions), ${r.chunks} in all\n`,
        );
    });

  program
    .command('chat')
    .description('ask questions line by line; follow-ups use the conversation so far')
    .addOption(kbOption())
    .option('--trace', 'print each answer with its trace')
    .option('--json', 'one JSON object per answer (JSON Lines)')
    .option('--model <name>', 'generate answers with this model (server: SHELF_LLM_URL or llm.url)')
    .action(async (o: { kb: string; trace?: boolean; json?: boolean; model?: string }) => {
      const kb = ctx.checkKbName(o.kb);
      const stdin = ctx.io.stdin;
      if (!stdin) throw new ShelfError('USAGE', { detail: 'shelf chat needs standard input.' });
      const rl = createInterface({ input: stdin, terminal: false, crlfDelay: Infinity });
      const interactive = ctx.io.isTTY && !o.json;
      const d = deps(ctx, o.model);
      const stream = d.llm !== undefined && !o.json && !o.trace;
      let streamed = false;
      try {
        await runChat({
          deps: d,
          kb,
          lines: rl,
          ...(interactive ? { onPrompt: () => ctx.io.stdout.write('> ') } : {}),
          ...(stream
            ? {
                onToken: (t: string) => {
                  streamed = true;
                  ctx.io.stdout.write(t);
                },
              }
            : {}),
          onAnswer: (result) => {
            warnFallback(ctx, result);
            const wasStreamed = streamed;
            streamed = false;
            if (o.json) ctx.io.stdout.write(JSON.stringify(answerJson(result)) + '\n');
            else if (wasStreamed)
              ctx.io.stdout.write(
                `\n\n${formatNotes(result, ctx.style)}${formatSources(result, ctx.style)}\n`,
              );
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
      const { formatQaReport, parseQa, runQa } = await import('../../eval/qa.js');
      const questions = parseQa(text, file);
      const report = await runQa(deps(ctx), { kb, questions });
      if (o.json) ctx.json(report);
      else ctx.io.stdout.write(formatQaReport(report));
    });
}
