/**
 * The engines compared in bench/peers: each builds an index over a BEIR corpus (title and
 * text) and answers a query with up to `hits` document ids, best first. Every library is
 * configured per its own documentation, with English stemming where it offers one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, insertMultiple, search as oramaSearch } from '@orama/orama';
import Database from 'better-sqlite3';
import FlexSearch from 'flexsearch';
import lunr from 'lunr';
import MiniSearch from 'minisearch';
import type { CorpusEntry } from '../../src/eval/beir.js';
import { ingestCorpus } from '../../src/eval/beir.js';
import { rankChunks, warmRanking } from '../../src/search/rank.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { STOP_WORDS } from '../../src/text/stopwords.js';

/**
 * An engine's answer: document ids best first, and their scores. Two arrays rather than an
 * object per hit: a thousand `{ docId, score }` objects were 64 KB of garbage a query in the
 * harness, as much as shelf's own ranking made, and the young-generation collections they
 * brought paused whichever engine's query they fell in (bench/README.md, Peers).
 */
export interface Ranking {
  readonly docIds: readonly string[];
  readonly scores: ArrayLike<number>;
}

export interface BuiltEngine {
  search(query: string, hits: number): Promise<Ranking>;
  close(): Promise<void>;
}

export interface Engine {
  readonly name: string;
  build(corpus: readonly CorpusEntry[]): Promise<BuiltEngine>;
}

/** Ranks positions as descending scores, for engines that return an order but no score. */
const byPosition = (ids: readonly (string | number)[]): Ranking => ({
  docIds: ids.map(String),
  scores: ids.map((_, i) => ids.length - i),
});

/** The answer of an engine that returns an object per hit. */
function ranking<T>(results: readonly T[], id: (r: T) => string, score: (r: T) => number): Ranking {
  return { docIds: results.map(id), scores: results.map(score) };
}

/** Words of a query, for engines whose query syntax must not see raw punctuation. */
const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export const SHELF: Engine = {
  name: 'shelf',
  async build(corpus) {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-peers-'));
    const store = openSqliteStore({ path: join(dir, 'shelf.db') });
    const { kbId, ids } = await ingestCorpus(store, corpus);
    // Part of building: the chunk table and length norms, loaded before the first query.
    await warmRanking(store);
    return {
      async search(query, hits) {
        const { ranked } = await rankChunks(store, { query, kbIds: [kbId], limit: hits });
        const docIds = new Array<string>(ranked.length);
        for (let i = 0; i < ranked.length; i++) docIds[i] = ids.get(ranked.documentIds[i] ?? 0) ?? '';
        return { docIds, scores: ranked.scores.subarray(0, ranked.length) };
      },
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * SQLite FTS5 as documented: porter tokenizer, bm25() with the title weighted 2, query
 * words OR-ed with shelf's query stop words dropped (as any FTS5 front end would).
 */
export const FTS5: Engine = {
  name: 'fts5',
  build(corpus) {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-fts5-'));
    const db = new Database(join(dir, 'fts5.db'));
    db.pragma('journal_mode = WAL');
    db.exec(
      `CREATE VIRTUAL TABLE docs USING fts5 (id UNINDEXED, title, text, tokenize = 'porter unicode61')`,
    );
    const insert = db.prepare('INSERT INTO docs (id, title, text) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (const d of corpus) insert.run(d.id, d.title, d.text);
    })();
    const query = db.prepare(
      'SELECT id, bm25(docs, 0.0, 2.0, 1.0) AS rank FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT ?',
    );
    return Promise.resolve({
      search(text, hits) {
        const all = [...new Set(words(text))];
        const content = all.filter((w) => !STOP_WORDS.has(w));
        const terms = content.length > 0 ? content : all;
        if (terms.length === 0) return Promise.resolve({ docIds: [], scores: [] });
        const rows = query.all(terms.map((t) => `"${t}"`).join(' OR '), hits) as {
          id: string;
          rank: number;
        }[];
        return Promise.resolve(
          ranking(
            rows,
            (r) => r.id,
            (r) => -r.rank,
          ),
        );
      },
      close() {
        db.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

/** MiniSearch defaults (BM25+, OR); it ships no stemmer. */
export const MINISEARCH: Engine = {
  name: 'minisearch',
  build(corpus) {
    const index = new MiniSearch<CorpusEntry>({ fields: ['title', 'text'], idField: 'id' });
    index.addAll(corpus);
    return Promise.resolve({
      search: (q, hits) =>
        Promise.resolve(
          ranking(
            index.search(q).slice(0, hits),
            (r) => String(r.id),
            (r) => r.score,
          ),
        ),
      close: () => Promise.resolve(),
    });
  },
};

/** Orama with its built-in English stemmer. */
export const ORAMA: Engine = {
  name: 'orama',
  async build(corpus) {
    const db = create({
      schema: { id: 'string', title: 'string', text: 'string' } as const,
      components: { tokenizer: { language: 'english', stemming: true } },
    });
    await insertMultiple(
      db,
      corpus.map((d) => ({ id: d.id, title: d.title, text: d.text })),
      1000,
    );
    return {
      async search(q, hits) {
        const r = await oramaSearch(db, { term: q, properties: ['title', 'text'], limit: hits });
        return ranking(
          r.hits,
          (h) => h.id,
          (h) => h.score,
        );
      },
      close: () => Promise.resolve(),
    };
  },
};

/** FlexSearch's document index with its balanced Latin encoder; `suggest` gives OR semantics. */
export const FLEXSEARCH: Engine = {
  name: 'flexsearch',
  build(corpus) {
    const index = new FlexSearch.Index({ encoder: FlexSearch.Charset.LatinBalance, resolution: 9 });
    for (const d of corpus) index.add(d.id, `${d.title} ${d.text}`);
    return Promise.resolve({
      search: (q, hits) =>
        Promise.resolve(byPosition(index.search(q, { limit: hits, suggest: true }) as (string | number)[])),
      close: () => Promise.resolve(),
    });
  },
};

/** Lunr with its default English pipeline (stop words, Porter stemmer). */
export const LUNR: Engine = {
  name: 'lunr',
  build(corpus) {
    const index = lunr(function () {
      this.ref('id');
      this.field('title');
      this.field('text');
      for (const d of corpus) this.add(d);
    });
    return Promise.resolve({
      search(q, hits) {
        const terms = words(q);
        const results = index.query((query) => {
          for (const t of terms) query.term(t, { presence: lunr.Query.presence.OPTIONAL });
        });
        return Promise.resolve(
          ranking(
            results.slice(0, hits),
            (r) => r.ref,
            (r) => r.score,
          ),
        );
      },
      close: () => Promise.resolve(),
    });
  },
};

export const ENGINES: readonly Engine[] = [SHELF, FTS5, MINISEARCH, ORAMA, FLEXSEARCH, LUNR];
