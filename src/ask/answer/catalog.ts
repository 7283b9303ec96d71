/**
 * Answers about the shelf itself (`catalog`) from metadata — documents, authors, tags,
 * sources — and the one follow-up question a `vague` question gets. Nothing here reads
 * chunk text except to rank documents for a topic ("what has Douglas written about
 * networking?": title and tag stems first, then where search finds the topic).
 */
import type { DocumentKind } from '../../core/document.js';
import { search } from '../../search/search.js';
import type { DocumentRecord, Store } from '../../store/store.js';
import { analyze } from '../../text/analyze.js';
import { toDocumentFilter } from '../retrieve.js';
import type { Answer, AnswerPart, Citation, Route } from '../types.js';
import { finish, TEMPLATE } from './extractive.js';

/** The catalogue's fixed text. */
export const CATALOG_TEMPLATE = {
  documents: 'From the catalogue of this knowledge base:',
  authors: 'Authors in this knowledge base:',
  tags: 'Tags in this knowledge base:',
  none: 'The catalogue of this knowledge base has no documents that match.',
  vague: 'Which topic do you mean? This knowledge base covers, for example:',
  by: ' — ',
  comma: ', ',
  open: ' (',
  close: ')',
} as const;

/** Most documents a catalogue answer lists. */
const MAX_LISTED = 25;

export interface CatalogResult {
  readonly answer: Answer;
  readonly citations: readonly Citation[];
  /** Documents that matched the filters before the topic was applied. */
  readonly considered: number;
}

function stems(text: string): Set<string> {
  return new Set(
    analyze(text)
      .filter((t) => !t.stop && !t.compound)
      .map((t) => t.term),
  );
}

function kindAsked(question: string): DocumentKind | undefined {
  if (/\b(books?|pdfs?|papers?)\b/i.test(question)) return 'pdf';
  if (/\b(articles?|posts?|blog ?posts?|entries)\b/i.test(question)) return 'article';
  return undefined;
}

function day(iso: string | undefined): string | undefined {
  return iso?.slice(0, 10);
}

export async function answerCatalog(options: {
  readonly store: Store;
  readonly kbIds: readonly number[];
  readonly route: Route;
  readonly question: string;
}): Promise<CatalogResult> {
  const { store, kbIds, route, question } = options;
  if (
    /\b(which|what|list|show|how many)\b[^?]*\bauthors?\b|\bwho (wrote|writes)\b/i.test(question) &&
    route.query === ''
  )
    return listNames(route, CATALOG_TEMPLATE.authors, await store.listAuthors(kbIds));
  if (/\b(which|what|list|show)\b[^?]*\b(tags|topics)\b/i.test(question) && route.query === '')
    return listNames(route, CATALOG_TEMPLATE.tags, await store.listTags(kbIds));

  const kind = kindAsked(question);
  const filter = { ...toDocumentFilter(route.filters), ...(kind ? { kind } : {}) };
  const page = await store.listDocuments(kbIds, filter, { limit: 500, offset: 0 });
  let docs: DocumentRecord[] = [...page.items];
  const topic = stems(route.query);
  if (topic.size > 0) {
    const score = new Map<number, number>();
    for (const d of docs) {
      const have = stems(`${d.title} ${d.tags.join(' ')}`);
      let s = 0;
      for (const t of topic) if (have.has(t)) s += 2;
      if (s > 0) score.set(d.id, s);
    }
    const hits = await search(store, { query: route.query, kbIds, filter, limit: 20 });
    const top = hits.hits[0]?.score ?? 1;
    for (const h of hits.hits)
      if (h.score >= 0.5 * top) score.set(h.document.id, (score.get(h.document.id) ?? 0) + h.score / top);
    docs = docs
      .filter((d) => score.has(d.id))
      .sort((a, b) => (score.get(b.id) ?? 0) - (score.get(a.id) ?? 0));
  }
  docs = docs.slice(0, MAX_LISTED);
  if (docs.length === 0)
    return {
      answer: finish(route, [{ kind: 'template', text: CATALOG_TEMPLATE.none }], false),
      citations: [],
      considered: page.total,
    };

  const parts: AnswerPart[] = [{ kind: 'template', text: CATALOG_TEMPLATE.documents }];
  const citations: Citation[] = docs.map((d, i) => {
    const n = i + 1;
    parts.push({ kind: 'template', text: TEMPLATE.newline }, { kind: 'template', text: TEMPLATE.bullet });
    parts.push({ kind: 'label', text: d.title, n });
    const by = [d.author, day(d.published)].filter((x): x is string => x !== undefined && x !== '');
    if (by.length > 0) {
      parts.push({ kind: 'template', text: CATALOG_TEMPLATE.by });
      by.forEach((b, j) => {
        if (j > 0) parts.push({ kind: 'template', text: CATALOG_TEMPLATE.comma });
        parts.push({ kind: 'label', text: b, n });
      });
    }
    parts.push({ kind: 'cite', n });
    return {
      n,
      documentId: d.id,
      title: d.title,
      ...(d.url !== undefined ? { url: d.url } : {}),
      ...(d.author !== undefined ? { author: d.author } : {}),
      ...(d.published !== undefined ? { published: d.published } : {}),
      chunkIds: [],
      label: d.title,
      quote: d.title,
    };
  });
  return { answer: finish(route, parts, false), citations, considered: page.total };
}

function listNames(
  route: Route,
  intro: string,
  names: readonly { name: string; documents: number }[],
): CatalogResult {
  if (names.length === 0)
    return {
      answer: finish(route, [{ kind: 'template', text: CATALOG_TEMPLATE.none }], false),
      citations: [],
      considered: 0,
    };
  const parts: AnswerPart[] = [{ kind: 'template', text: intro }];
  for (const n of names.slice(0, 50)) {
    parts.push({ kind: 'template', text: TEMPLATE.newline }, { kind: 'template', text: TEMPLATE.bullet });
    parts.push({ kind: 'label', text: n.name }, { kind: 'template', text: CATALOG_TEMPLATE.open });
    parts.push(
      { kind: 'label', text: String(n.documents) },
      { kind: 'template', text: CATALOG_TEMPLATE.close },
    );
  }
  return { answer: finish(route, parts, false), citations: [], considered: names.length };
}

/** One clarifying question instead of a guess, with examples drawn from the catalogue. */
export async function answerVague(options: {
  readonly store: Store;
  readonly kbIds: readonly number[];
  readonly route: Route;
}): Promise<Answer> {
  const tags = (await options.store.listTags(options.kbIds)).slice(0, 6).map((t) => t.name);
  const examples =
    tags.length >= 3
      ? tags
      : (await options.store.listDocuments(options.kbIds, {}, { limit: 5, offset: 0 })).items.map(
          (d) => d.title,
        );
  const parts: AnswerPart[] = [{ kind: 'template', text: CATALOG_TEMPLATE.vague }];
  examples.forEach((e, i) => {
    parts.push(
      { kind: 'template', text: i === 0 ? TEMPLATE.space : CATALOG_TEMPLATE.comma },
      { kind: 'label', text: e },
    );
  });
  const followUp = `${CATALOG_TEMPLATE.vague} ${examples.join(', ')}`;
  return finish(options.route, parts, false, followUp);
}
