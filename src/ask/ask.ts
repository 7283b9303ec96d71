/**
 * `ask(deps, request)`: the stage pipeline question → init → route → primer → retrieve →
 * assemble → answer, each stage recorded in the trace with its time and decisions.
 *
 * Offline the answer is extractive (deterministic). With a chat model (`deps.llm`) it is
 * generated from the primer, the context and the history, streamed to `onToken` and
 * checked (citations, support); when the model fails before writing anything, the
 * extractive answer stands in and the trace and `answer.fallback` say why. Weak evidence
 * declines without asking the model, and vague and catalogue questions stay rule-based.
 * With an embedder (`deps.embedder`) whose vectors the knowledge base holds, retrieval is
 * hybrid; otherwise lexical, with the reason in the trace.
 */
import type { Clock } from '../core/seams.js';
import { ShelfError, toShelfError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import { denseStatus, type DenseStatus } from '../embed/embeddings.js';
import type { Llm } from '../llm/llm.js';
import type { KnowledgeBase, Store } from '../store/store.js';
import { answerCatalog, answerVague } from './answer/catalog.js';
import { answerExtractive, isWeak, MIN_COVERAGE, MIN_STRENGTH } from './answer/extractive.js';
import { answerGenerative } from './answer/generative.js';
import { assemble, DEFAULT_BUDGET, renderContext } from './assemble.js';
import { retrieve, type Retrieval } from './retrieve.js';
import { route as routeQuestion } from './route.js';
import { createTracer, displayUrl, type Trace } from './trace.js';
import {
  ROUTE_TYPES,
  type Answer,
  type Citation,
  type Context,
  type Route,
  type RouteType,
  type Turn,
} from './types.js';

/** Longest question accepted, in characters. */
export const MAX_QUESTION_LENGTH = 2000;

/** The persona used when a knowledge base has none (`shelf kb set-primer`). */
export function defaultPrimer(kb: string): string {
  return (
    `You are shelf, a careful research assistant for the knowledge base "${kb}". ` +
    'Answer only from the numbered context, cite every claim with [n], say plainly when the ' +
    'context does not hold the answer, and ask one follow-up question when a question is too vague to answer.'
  );
}

export interface AskDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Milliseconds for the trace (default performance.now). */
  readonly now?: () => number;
  /** The chat model for generated answers; absent: extractive answers. */
  readonly llm?: Llm;
  /** The embedder for dense candidates; absent: lexical retrieval. */
  readonly embedder?: Embedder;
  /** Dense candidates fused with BM25 (default 100). */
  readonly denseCandidates?: number;
}

export interface AskRequest {
  readonly question: string;
  /** Knowledge base name. */
  readonly kb: string;
  /** Skip classification and use this type. */
  readonly route?: RouteType;
  /** Earlier turns of a chat, oldest first. */
  readonly history?: readonly Turn[];
  /** Context budget in tokens. */
  readonly budget?: number;
  /** Generated answers: each piece of checked text as the model writes it. */
  readonly onToken?: (text: string) => void;
  /** Cancels a generated answer (rejects with MODEL_CANCELLED). */
  readonly signal?: AbortSignal;
  /** Called once the context is assembled, before the answer is written (streams send sources first). */
  readonly onRetrieved?: (r: {
    readonly route: Route;
    readonly context: Context;
    readonly nearest: AskResult['nearest'];
  }) => void;
}

export interface AskResult {
  readonly question: string;
  readonly kb: string;
  readonly route: Route;
  readonly primer: string;
  readonly answer: Answer;
  /** The citations the answer uses, with the context's numbers. */
  readonly citations: readonly Citation[];
  /** The context sent (every numbered block). */
  readonly context: Context;
  /** Documents nearest to the question, best first (named when the answer declines). */
  readonly nearest: readonly { readonly documentId: number; readonly title: string }[];
  readonly trace: Trace;
}

/** Drops control characters (keeping tabs and newlines as spaces) and rejects empty or oversized questions. */
export function validateQuestion(raw: string): string {
  if (raw.length > MAX_QUESTION_LENGTH * 4)
    throw new ShelfError('QUESTION_TOO_LONG', { length: raw.length, limit: MAX_QUESTION_LENGTH });
  const question = raw
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (question === '') throw new ShelfError('EMPTY_QUESTION');
  if (question.length > MAX_QUESTION_LENGTH)
    throw new ShelfError('QUESTION_TOO_LONG', { length: question.length, limit: MAX_QUESTION_LENGTH });
  return question;
}

export function parseRouteType(value: string): RouteType {
  const v = value.trim().toLowerCase();
  const found = ROUTE_TYPES.find((t) => t === v);
  if (!found) throw new ShelfError('ROUTE_UNKNOWN', { route: value });
  return found;
}

function filterText(route: Route): string {
  const f = route.filters;
  const parts = [
    f.author !== undefined ? `author=${f.author}` : '',
    f.tag !== undefined ? `tag=${f.tag}` : '',
    f.since !== undefined ? `since=${f.since.slice(0, 10)}` : '',
    f.until !== undefined ? `until=${f.until.slice(0, 10)}` : '',
    f.sourceId !== undefined ? `source=${f.sourceId}` : '',
  ].filter((x) => x !== '');
  return parts.length > 0 ? parts.join(' ') : 'none';
}

export async function ask(deps: AskDeps, request: AskRequest): Promise<AskResult> {
  const tracer = createTracer(deps.now);
  const { store } = deps;
  // init: the question, the knowledge base and its catalogue.
  const question = validateQuestion(request.question);
  const kb: KnowledgeBase | undefined = await store.getKnowledgeBase(request.kb);
  if (!kb) throw new ShelfError('KB_NOT_FOUND', { name: request.kb });
  const kbIds = [kb.id];
  const [docs, authors, tags, sources] = await Promise.all([
    store.listDocuments(kbIds, {}, { limit: 1, offset: 0 }),
    store.listAuthors(kbIds),
    store.listTags(kbIds),
    store.listSources(kb.id),
  ]);
  if (docs.total === 0) throw new ShelfError('KB_EMPTY', { name: kb.name });
  tracer.stage(
    'init',
    `kb "${kb.name}": ${docs.total} documents, ${authors.length} authors, ${tags.length} tags`,
    {
      kb: kb.name,
      question,
      documents: docs.total,
      history: request.history?.length ?? 0,
    },
  );

  const route = routeQuestion({
    question,
    authors,
    tags,
    sources: sources.map((s) => ({
      id: s.id,
      location: s.location,
      ...(s.title !== undefined ? { title: s.title } : {}),
    })),
    now: deps.clock.now(),
    ...(request.history ? { history: request.history } : {}),
    ...(request.route ? { forced: request.route } : {}),
  });
  const routeLines = [...route.filterNotes.map((n) => `filter: ${n}`)];
  if (route.followUpOf !== undefined) routeLines.push(`follow-up of: "${route.followUpOf}"`);
  if (route.sides) routeLines.push(`sides: "${route.sides[0]}" | "${route.sides[1]}"`);
  tracer.stage(
    'route',
    `${route.type} (rule ${route.rule}) · query "${route.query}" · filters ${filterText(route)}`,
    {
      route,
      lines: routeLines,
    },
  );

  const primer = kb.primer ?? defaultPrimer(kb.name);
  tracer.stage('primer', kb.primer ? 'knowledge base primer' : 'default primer', { primer, lines: [primer] });

  const emptyContext: Context = {
    blocks: [],
    citations: [],
    tokens: 0,
    budget: request.budget ?? DEFAULT_BUDGET,
    dropped: 0,
  };

  if (route.type === 'vague') {
    tracer.stage('retrieve', 'skipped: the question names no topic', {});
    tracer.stage('assemble', 'skipped', {});
    const answer = await answerVague({ store, kbIds, route });
    tracer.stage('answer', 'one follow-up question instead of a guess', { followUp: answer.followUp });
    return result(question, kb, route, primer, answer, [], emptyContext, [], tracer.finish());
  }

  if (route.type === 'catalog') {
    tracer.stage('retrieve', 'catalogue: documents, authors and tags from metadata', {});
    tracer.stage('assemble', 'skipped: the catalogue needs no context', {});
    const catalog = await answerCatalog({ store, kbIds, route, question });
    tracer.stage(
      'answer',
      `catalogue: ${catalog.citations.length} documents listed of ${catalog.considered} that pass the filters`,
      {
        lines: catalog.citations.map((c) => `[${c.n}] ${c.label}`),
      },
    );
    return result(
      question,
      kb,
      route,
      primer,
      catalog.answer,
      catalog.citations,
      emptyContext,
      [],
      tracer.finish(),
    );
  }

  const dense: DenseStatus | undefined = deps.embedder
    ? await denseStatus(store, kb, deps.embedder)
    : undefined;
  const retrieval: Retrieval = await retrieve({
    store,
    kbIds,
    route,
    ...(deps.embedder && dense?.usable
      ? {
          dense: {
            embedder: deps.embedder,
            ...(deps.denseCandidates !== undefined ? { candidates: deps.denseCandidates } : {}),
          },
        }
      : {}),
  });
  const ev = retrieval.evidence;
  const hybridLines = await hybridTrace(store, retrieval, dense);
  tracer.stage(
    'retrieve',
    `${retrieval.counts.bm25} BM25 candidates → ${retrieval.counts.rescored} rescored → ${retrieval.counts.kept} kept from ${retrieval.documents.length} documents · evidence coverage ${ev.coverage.toFixed(2)} (min ${MIN_COVERAGE}), strength ${ev.strength.toFixed(2)} (min ${MIN_STRENGTH})`,
    {
      terms: retrieval.queryTerms,
      expansion: retrieval.expansion,
      evidence: ev,
      ...(retrieval.hybrid ? { hybrid: retrieval.hybrid } : {}),
      ...(dense && !dense.usable ? { lexicalOnly: dense.reason } : {}),
      lines: [
        ...hybridLines,
        `terms: ${retrieval.queryTerms.join(' ')}${retrieval.expansion.length > 0 ? ` · feedback: ${retrieval.expansion.join(' ')}` : ''}`,
        ...(ev.missingTerms.length > 0 ? [`not in the knowledge base: ${ev.missingTerms.join(' ')}`] : []),
        ...(retrieval.summaryDocuments
          ? [`summary documents: ${retrieval.summaryDocuments.join(' | ')}`]
          : []),
        ...retrieval.documents
          .slice(0, 5)
          .map((d) => `${d.score.toFixed(3)}  ${d.document.title} (${d.chunks} chunks)`),
      ],
    },
  );

  const context = assemble({
    candidates: retrieval.candidates,
    queryTerms: retrieval.queryTerms,
    ...(request.budget !== undefined ? { budget: request.budget } : {}),
  });
  tracer.stage(
    'assemble',
    `${context.blocks.length} blocks, ${context.tokens}/${context.budget} tokens${context.dropped > 0 ? `, ${context.dropped} chunks over budget` : ''}`,
    {
      context: renderContext(context),
      lines: context.citations.map(
        (c) => `[${c.n}] ${c.label} · chunks ${c.chunkIds.join(',')} · "${preview(c.quote)}"`,
      ),
    },
  );

  const nearest = retrieval.nearest
    .slice(0, 3)
    .map((d) => ({ documentId: d.document.id, title: d.document.title }));
  request.onRetrieved?.({ route, context, nearest });
  const extractive = answerExtractive({
    route,
    context,
    evidence: ev,
    queryTerms: retrieval.queryTerms,
    expansion: retrieval.expansion,
    nearest,
  });
  let answer: Answer = extractive;
  let modelNote: string | undefined;
  if (deps.llm && !extractive.declined) {
    try {
      answer = await answerGenerative({
        llm: deps.llm,
        primer,
        context,
        question,
        history: request.history ?? [],
        shape: route.type,
        idfOf: async (terms) => {
          const stats = await store.termStats(terms, kbIds);
          const n = Math.max(stats.chunkCount, 1);
          return new Map(
            terms.map((t) => {
              const df = stats.df.get(t) ?? 0;
              return [t, Math.log(1 + (n - df + 0.5) / (df + 0.5))];
            }),
          );
        },
        ...(request.onToken ? { onToken: request.onToken } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (e) {
      const err = toShelfError(e);
      if (err.code === 'MODEL_CANCELLED') throw err;
      answer = { ...extractive, fallback: { code: err.code, message: err.message, hint: err.hint } };
      modelNote = `model ${deps.llm.model} failed (${err.code}: ${err.message}) → extractive answer`;
    }
  } else if (deps.llm) modelNote = `model ${deps.llm.model} not asked: the evidence is too weak to answer`;
  const citations = citedOnly(answer, context);
  const g = answer.generation;
  const summary = g
    ? `generated by ${g.model}${g.complete ? '' : ' (INCOMPLETE)'}: ${g.sentences.length} sentences citing ${citations.map((c) => `[${c.n}]`).join(' ') || 'nothing'}; ${g.unsupported} unsupported; ${g.removedCitations.length} invalid citations removed`
    : answer.declined
      ? `declined: evidence too weak${isWeak(ev) ? '' : ' (no context)'}; named ${nearest.length} nearest documents`
      : `extractive ${answer.shape}: ${answer.parts.filter((p) => p.kind === 'quote' || p.kind === 'code').length} quoted pieces citing ${citations.map((c) => `[${c.n}]`).join(' ')}`;
  tracer.stage('answer', modelNote && !g ? `${summary} · ${modelNote}` : summary, {
    ...(g ? { generation: g } : {}),
    ...(answer.fallback ? { fallback: answer.fallback } : {}),
    lines: [
      ...(modelNote ? [modelNote] : []),
      ...(g ? generationLines(g) : []),
      ...citations.map((c) => `[${c.n}] ${c.label}${c.url ? ` <${displayUrl(c.url)}>` : ''}`),
    ],
  });
  return result(question, kb, route, primer, answer, citations, context, nearest, tracer.finish());
}

/** Trace lines for a generated answer: the prompt fitted, the checks' findings. */
function generationLines(g: NonNullable<Answer['generation']>): string[] {
  const p = g.prompt;
  return [
    `prompt: ${p.tokens}/${p.contextTokens} tokens, blocks ${p.blocksSent.map((n) => `[${n}]`).join('') || 'none'}${p.blocksLeftOut.length > 0 ? `, left out ${p.blocksLeftOut.map((n) => `[${n}]`).join('')}` : ''}, ${p.historyTurns} history turns`,
    ...(g.complete ? [] : [`incomplete: ${g.incompleteReason ?? 'the stream ended early'}`]),
    ...(g.removedCitations.length > 0
      ? [`removed invalid citations: ${g.removedCitations.map((n) => `[${n}]`).join(' ')}`]
      : []),
    ...g.sentences
      .filter((s) => s.unsupported || s.uncited)
      .map(
        (s) =>
          `${s.unsupported ? `UNSUPPORTED (support ${s.support?.toFixed(2) ?? '?'})` : 'UNCITED'}: "${preview(s.text)}"`,
      ),
  ];
}

/** Trace lines for the dense side: both candidate lists and the fusion, or why it was off. */
async function hybridTrace(
  store: Store,
  retrieval: Retrieval,
  dense: DenseStatus | undefined,
): Promise<string[]> {
  if (!dense) return [];
  if (!dense.usable) return [`dense: off, lexical only (${dense.reason})`];
  const h = retrieval.hybrid;
  if (!h) return [];
  if (h.error !== undefined) return [`dense: failed, lexical only (${h.error})`];
  const ids = [
    ...new Set([
      ...h.bm25.slice(0, 5),
      ...h.dense.slice(0, 5).map((d) => d.chunkId),
      ...h.fused.slice(0, 5).map((f) => f.chunkId),
    ]),
  ];
  const rows = await store.getChunksWithDocuments(ids);
  const name = new Map(
    rows.map((r) => [r.chunk.id, `#${r.chunk.id} ${preview(r.document.title).slice(0, 40)}`]),
  );
  const label = (id: number): string => name.get(id) ?? `#${id}`;
  return [
    `hybrid (${h.model}): ${h.counts.bm25} BM25 + ${h.counts.dense} dense candidates → ${h.counts.fused} fused (reciprocal rank, k = 60)`,
    `  bm25:  ${h.bm25.slice(0, 5).map(label).join(' | ')}`,
    `  dense: ${h.dense
      .slice(0, 5)
      .map((d) => `${label(d.chunkId)} (${d.score.toFixed(2)})`)
      .join(' | ')}`,
    `  fused: ${h.fused
      .slice(0, 5)
      .map((f) => `${label(f.chunkId)} (bm25 ${f.ranks['bm25'] ?? '-'}, dense ${f.ranks['dense'] ?? '-'})`)
      .join(' | ')}`,
  ];
}

function preview(s: string): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > 90 ? `${flat.slice(0, 90)}…` : flat;
}

/** The context's citations that the answer cites, each quoting the first piece the answer takes from it. */
function citedOnly(answer: Answer, context: Context): Citation[] {
  const firstQuote = new Map<number, string>();
  const order: number[] = [];
  for (const p of answer.parts) {
    if (p.kind === 'cite' && !order.includes(p.n)) order.push(p.n);
    if ((p.kind === 'quote' || p.kind === 'code') && !firstQuote.has(p.n)) firstQuote.set(p.n, p.text);
  }
  return order
    .sort((a, b) => a - b)
    .map((n) => context.citations[n - 1])
    .filter((c): c is Citation => c !== undefined)
    .map((c) => ({ ...c, quote: firstQuote.get(c.n) ?? c.quote }));
}

function result(
  question: string,
  kb: KnowledgeBase,
  route: Route,
  primer: string,
  answer: Answer,
  citations: readonly Citation[],
  context: Context,
  nearest: AskResult['nearest'],
  trace: Trace,
): AskResult {
  return { question, kb: kb.name, route, primer, answer, citations, context, nearest, trace };
}
