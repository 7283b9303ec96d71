/**
 * Question-answering evaluation over a knowledge base (`shelf eval qa FILE.jsonl`).
 *
 * One JSON object per line:
 *   {"id": "q1", "question": "...", "kind": "answerable" | "unanswerable" | "vague",
 *    "expect": [{"title": "substring"} | {"url": "substring"}, "page"?: 12, "pages"?: [12, 13]],
 *    "route"?: "howto"}
 * `kind` defaults to answerable. An expected entry matches a citation when its title (or
 * URL) contains the substring, case-insensitively, and, when pages are given, the citation's
 * page span comes within PAGE_TOLERANCE of one of them.
 *
 * Metrics (answerable questions): hit@1 and hit@5 of an expected document among the cited
 * documents in citation order; citation precision = cited entries that match an expected
 * document (ignoring pages) over all cited entries, pooled over questions. Unanswerable:
 * the share declined. Vague: the share given a follow-up question. Route accuracy over the
 * questions that name their expected route.
 */
import { z } from 'zod';
import { ShelfError } from '../core/errors.js';
import { ask, type AskDeps, type AskResult } from '../ask/ask.js';
import { ROUTE_TYPES, type Citation } from '../ask/types.js';

/** Pages of slack between the expected page and a citation's page span (chunks straddle pages). */
export const PAGE_TOLERANCE = 1;

const EXPECT = z
  .object({
    title: z.string().min(1).optional(),
    url: z.string().min(1).optional(),
    page: z.number().int().positive().optional(),
    pages: z.array(z.number().int().positive()).min(1).optional(),
  })
  .strict()
  .refine((e) => e.title !== undefined || e.url !== undefined, 'an expected document needs "title" or "url"');

const QUESTION = z
  .object({
    id: z.string().optional(),
    question: z.string().min(1),
    kind: z.enum(['answerable', 'unanswerable', 'vague']).default('answerable'),
    expect: z.array(EXPECT).default([]),
    route: z.enum(ROUTE_TYPES).optional(),
    note: z.string().optional(),
  })
  .strict()
  .refine((q) => q.kind !== 'answerable' || q.expect.length > 0, 'an answerable question needs "expect"');

export type QaQuestion = z.infer<typeof QUESTION> & { readonly id: string };
export type Expected = z.infer<typeof EXPECT>;

/** Parses a QA file; every broken line is reported with its number. */
export function parseQa(text: string, path: string): QaQuestion[] {
  const out: QaQuestion[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new ShelfError('QA_INVALID', { path, line: i + 1, detail: 'not JSON' }, { cause: e });
    }
    const parsed = QUESTION.safeParse(json);
    if (!parsed.success)
      throw new ShelfError('QA_INVALID', {
        path,
        line: i + 1,
        detail: parsed.error.issues.map((x) => `${x.path.join('.') || 'line'}: ${x.message}`).join('; '),
      });
    out.push({ ...parsed.data, id: parsed.data.id ?? `line-${i + 1}` });
  });
  if (out.length === 0) throw new ShelfError('QA_EMPTY', { path });
  return out;
}

function documentMatches(e: Expected, c: Citation): boolean {
  if (e.title !== undefined && !c.title.toLowerCase().includes(e.title.toLowerCase())) return false;
  if (e.url !== undefined) {
    const url = (c.url ?? '').toLowerCase();
    let decoded = url;
    try {
      decoded = decodeURIComponent(url);
    } catch {
      // keep the raw URL
    }
    const want = e.url.toLowerCase();
    if (!url.includes(want) && !decoded.includes(want)) return false;
  }
  return true;
}

/** Does a citation point where an expected entry says (document, and page when given)? */
export function citationMatches(e: Expected, c: Citation): boolean {
  if (!documentMatches(e, c)) return false;
  const pages = e.pages ?? (e.page !== undefined ? [e.page] : []);
  if (pages.length === 0) return true;
  if (c.pageStart === undefined) return false;
  const end = c.pageEnd ?? c.pageStart;
  return pages.some((p) => p >= c.pageStart! - PAGE_TOLERANCE && p <= end + PAGE_TOLERANCE);
}

export interface QaRow {
  readonly id: string;
  readonly question: string;
  readonly kind: QaQuestion['kind'];
  readonly route: string;
  readonly expectedRoute?: string;
  readonly declined: boolean;
  readonly followUp: boolean;
  /** 1-based rank of the first cited document that matches, if any. */
  readonly hitRank?: number;
  readonly citations: number;
  readonly matchingCitations: number;
  readonly cited: readonly string[];
  readonly ms: number;
}

export interface QaMetrics {
  readonly questions: number;
  readonly answerable: number;
  readonly hit1: number;
  readonly hit5: number;
  readonly citationPrecision: number;
  readonly unanswerable: number;
  readonly declined: number;
  readonly vague: number;
  readonly followUp: number;
  readonly routeAccuracy?: number;
  /** Answerable questions the system declined. */
  readonly falseDeclines: number;
}

export interface QaReport {
  readonly rows: readonly QaRow[];
  readonly metrics: QaMetrics;
}

/** Ranks of distinct cited documents, in citation order, with the rank where an expected one is hit. */
function hitRank(q: QaQuestion, citations: readonly Citation[]): number | undefined {
  const docs: number[] = [];
  for (const c of citations) {
    if (!docs.includes(c.documentId)) docs.push(c.documentId);
    if (q.expect.some((e) => citationMatches(e, c))) return docs.indexOf(c.documentId) + 1;
  }
  return undefined;
}

export async function runQa(
  deps: AskDeps,
  options: {
    readonly kb: string;
    readonly questions: readonly QaQuestion[];
    readonly onRow?: (row: QaRow) => void;
  },
): Promise<QaReport> {
  const rows: QaRow[] = [];
  for (const q of options.questions) {
    const started = performance.now();
    const r: AskResult = await ask(deps, { question: q.question, kb: options.kb });
    const matching = r.citations.filter((c) => q.expect.some((e) => documentMatches(e, c))).length;
    const rank = q.kind === 'answerable' ? hitRank(q, r.citations) : undefined;
    const row: QaRow = {
      id: q.id,
      question: q.question,
      kind: q.kind,
      route: r.route.type,
      ...(q.route !== undefined ? { expectedRoute: q.route } : {}),
      declined: r.answer.declined,
      followUp: r.answer.followUp !== undefined,
      ...(rank !== undefined ? { hitRank: rank } : {}),
      citations: r.citations.length,
      matchingCitations: matching,
      cited: r.citations.map((c) => c.label),
      ms: performance.now() - started,
    };
    rows.push(row);
    options.onRow?.(row);
  }
  return { rows, metrics: qaMetrics(rows) };
}

export function qaMetrics(rows: readonly QaRow[]): QaMetrics {
  const share = (num: number, den: number): number => (den === 0 ? 0 : num / den);
  const answerable = rows.filter((r) => r.kind === 'answerable');
  const unanswerable = rows.filter((r) => r.kind === 'unanswerable');
  const vague = rows.filter((r) => r.kind === 'vague');
  const routed = rows.filter((r) => r.expectedRoute !== undefined);
  const cited = answerable.reduce((a, r) => a + r.citations, 0);
  return {
    questions: rows.length,
    answerable: answerable.length,
    hit1: share(answerable.filter((r) => r.hitRank === 1).length, answerable.length),
    hit5: share(
      answerable.filter((r) => r.hitRank !== undefined && r.hitRank <= 5).length,
      answerable.length,
    ),
    citationPrecision: share(
      answerable.reduce((a, r) => a + r.matchingCitations, 0),
      cited,
    ),
    unanswerable: unanswerable.length,
    declined: share(unanswerable.filter((r) => r.declined).length, unanswerable.length),
    vague: vague.length,
    followUp: share(vague.filter((r) => r.followUp).length, vague.length),
    ...(routed.length > 0
      ? { routeAccuracy: share(routed.filter((r) => r.route === r.expectedRoute).length, routed.length) }
      : {}),
    falseDeclines: answerable.filter((r) => r.declined).length,
  };
}

/** The human report printed by `shelf eval qa`. */
export function formatQaReport(report: QaReport): string {
  const pct = (x: number): string => x.toFixed(3);
  const lines: string[] = [];
  for (const r of report.rows) {
    const mark =
      r.kind === 'answerable'
        ? r.hitRank === undefined
          ? 'MISS'
          : `hit@${r.hitRank}`
        : r.kind === 'unanswerable'
          ? r.declined
            ? 'declined'
            : 'ANSWERED'
          : r.followUp
            ? 'follow-up'
            : 'NO FOLLOW-UP';
    const route =
      r.expectedRoute !== undefined && r.expectedRoute !== r.route
        ? `${r.route}≠${r.expectedRoute}`
        : r.route;
    lines.push(`${r.id.padEnd(8)} ${mark.padEnd(12)} ${route.padEnd(16)} ${r.question}`);
  }
  const m = report.metrics;
  lines.push('');
  lines.push(
    `questions ${m.questions} · answerable ${m.answerable} · unanswerable ${m.unanswerable} · vague ${m.vague}`,
  );
  lines.push(`hit@1 ${pct(m.hit1)} · hit@5 ${pct(m.hit5)} · citation precision ${pct(m.citationPrecision)}`);
  lines.push(
    `unanswerable declined ${pct(m.declined)} · vague given a follow-up ${pct(m.followUp)}${m.routeAccuracy !== undefined ? ` · route accuracy ${pct(m.routeAccuracy)}` : ''} · answerable declined ${m.falseDeclines}`,
  );
  return lines.join('\n') + '\n';
}
