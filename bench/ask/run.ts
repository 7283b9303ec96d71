/**
 * End-to-end `ask` latency (extractive answers) over a synthetic 100,000-chunk knowledge base.
 *
 *   npx tsx bench/ask/run.ts [--chunks 100000] [--questions 300] [--rebuild]
 *
 * The corpus is generated once into bench/.data/ask-<chunks>/ (reused afterwards): the three
 * shared feeds are ingested into a scratch store, their sentences become the vocabulary, and
 * documents of 50 chunks are written through Store.upsertDocument with the same index
 * analysis as ingest (`indexText`). Questions are made from random sentences of the corpus in
 * every route's phrasing, plus questions with no answer. Prints p50/p99 of the whole `ask`
 * and of each stage, and the ratio to plain `search()` (top 10) on the same questions,
 * measured in the same run.
 */
import { prng } from '../search/synthetic.js';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ingestContext, openApp } from '../../src/app.js';
import { ask } from '../../src/ask/ask.js';
import { STAGES } from '../../src/ask/trace.js';
import { loadConfig } from '../../src/core/config.js';
import { addSource } from '../../src/ingest/ingest.js';
import { search } from '../../src/search/search.js';
import type { ChunkInput } from '../../src/store/store.js';
import { PROJECT_ROOT, sharedPath } from '../../src/test-support/shared.js';
import { indexText } from '../../src/text/analyze.js';
import { countTokens, splitSentences } from '../../src/text/sentences.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const CHUNKS = arg('chunks', 100_000);
const QUESTIONS = arg('questions', 300);
const PER_DOC = 50;
const FEEDS = ['devto-narasimha1997.xml', 'devto-nicolasmesa.xml', 'forem-douglasmakey.xml'];

const random = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

async function vocabulary(): Promise<{ sentences: string[]; headings: string[]; tags: string[] }> {
  const home = join(PROJECT_ROOT, 'bench/.data/ask-vocab');
  rmSync(home, { recursive: true, force: true });
  const app = openApp({ config: loadConfig({ env: {}, home }) });
  const kb = await app.store.createKnowledgeBase('default');
  const ctx = ingestContext(app);
  for (const f of FEEDS) await addSource(ctx, { kb, location: sharedPath('corpus/feeds', f) });
  const sentences: string[] = [];
  const headings = new Set<string>();
  const tags = new Set<string>();
  const docs = await app.store.listDocuments([kb.id], {}, { limit: 1000, offset: 0 });
  for (const d of docs.items) {
    d.tags.forEach((t) => tags.add(t));
    for (const c of await app.store.getChunks(d.id)) {
      c.headingPath.forEach((h) => headings.add(h));
      if (c.hasCode) continue;
      for (const s of splitSentences(c.text)) if (s.text.split(' ').length >= 6) sentences.push(s.text);
    }
  }
  await app.close();
  rmSync(home, { recursive: true, force: true });
  return { sentences, headings: [...headings], tags: [...tags] };
}

async function build(home: string): Promise<{ sentences: string[] }> {
  const vocab = await vocabulary();
  const app = openApp({ config: loadConfig({ env: {}, home }) });
  const kb = await app.store.createKnowledgeBase('default');
  const source = await app.store.addSource({ kbId: kb.id, kind: 'directory', location: '/synthetic' });
  const docs = Math.ceil(CHUNKS / PER_DOC);
  const started = performance.now();
  for (let d = 0; d < docs; d++) {
    const title = `${pick(vocab.headings)} ${pick(vocab.headings)}`.slice(0, 120);
    const tags = [pick(vocab.tags), pick(vocab.tags)];
    const chunks: ChunkInput[] = [];
    for (let o = 0; o < PER_DOC; o++) {
      const heading = [pick(vocab.headings)];
      const text = Array.from({ length: 3 + Math.floor(random() * 4) }, () => pick(vocab.sentences)).join(
        ' ',
      );
      chunks.push({
        ordinal: o,
        headingPath: heading,
        text,
        tokens: countTokens(text),
        hasCode: false,
        index: {
          title: indexText(title),
          heading: indexText(heading.join(' ')),
          body: indexText(text),
          tags: indexText(tags.join(' ')),
        },
      });
    }
    await app.store.upsertDocument({
      kbId: kb.id,
      sourceId: source.id,
      document: {
        key: `doc-${d}`,
        kind: 'markdown',
        title,
        tags,
        hash: `h${d}`,
        author: `Author ${d % 37}`,
        published: new Date(Date.UTC(2015 + (d % 10), d % 12, 1)).toISOString(),
      },
      chunks,
    });
    if (d % 200 === 0)
      process.stderr.write(
        `\rbuilding: ${d * PER_DOC} chunks (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
  }
  process.stderr.write('\n');
  await app.close();
  return { sentences: vocab.sentences };
}

function questionsFrom(sentences: readonly string[], n: number): string[] {
  const forms = [
    (w: string) => `What is ${w}?`,
    (w: string) => `How do I ${w}?`,
    (w: string) => `Give me an overview of ${w}`,
    (w: string) => `What is the difference between ${w}?`,
    (w: string) => `List the ${w}`,
    (w: string) => `Show me the code for ${w}`,
    (w: string) => `Why does ${w} matter?`,
  ];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9) {
      out.push(
        pick([
          'How do I bake sourdough bread?',
          'What is the capital of Peru?',
          'How does Kafka rebalance partitions?',
        ]),
      );
      continue;
    }
    const words = pick(sentences)
      .split(/\s+/)
      .filter((w) => /^[A-Za-z]{4,}$/.test(w));
    const start = Math.floor(random() * Math.max(1, words.length - 4));
    const span = words.slice(start, start + 2 + Math.floor(random() * 3)).join(' ') || 'kernel memory';
    out.push(pick(forms)(span.replace(' ', i % 7 === 3 ? ' and ' : ' ')));
  }
  return out;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

const home = join(PROJECT_ROOT, `bench/.data/ask-${CHUNKS}`);
if (process.argv.includes('--rebuild')) rmSync(home, { recursive: true, force: true });
let sentences: string[];
if (!existsSync(join(home, 'shelf.db'))) {
  mkdirSync(home, { recursive: true });
  sentences = (await build(home)).sentences;
} else sentences = (await vocabulary()).sentences;

const app = openApp({ config: loadConfig({ env: {}, home }) });
const kb = await app.store.getKnowledgeBase('default');
if (!kb) throw new Error('benchmark store has no default knowledge base');
const questions = questionsFrom(sentences, QUESTIONS);
const deps = { store: app.store, clock: app.clock };

// Warm-up: the first query loads the ranker's in-memory postings; reported separately.
let t = performance.now();
await ask(deps, { question: 'How does the accept queue work?', kb: 'default' });
const coldMs = performance.now() - t;
for (const q of questions.slice(0, 10)) await ask(deps, { question: q, kb: 'default' });

const totals: number[] = [];
const stages = new Map<string, number[]>(STAGES.map((s) => [s, []]));
const routes = new Map<string, number>();
let declined = 0;
for (const q of questions) {
  t = performance.now();
  const r = await ask(deps, { question: q, kb: 'default' });
  totals.push(performance.now() - t);
  for (const s of r.trace.stages) stages.get(s.name)?.push(s.ms);
  routes.set(r.route.type, (routes.get(r.route.type) ?? 0) + 1);
  if (r.answer.declined) declined++;
}
const searchMs: number[] = [];
for (const q of questions) {
  t = performance.now();
  await search(app.store, { query: q, kbIds: [kb.id], limit: 10 });
  searchMs.push(performance.now() - t);
}
const chunkCount = (await app.store.listKnowledgeBases())[0]?.chunkCount ?? 0;
await app.close();

const f = (x: number): string => x.toFixed(1).padStart(7);
console.log(
  `ask over ${chunkCount} chunks, ${questions.length} questions (${[...routes].map(([k, v]) => `${k} ${v}`).join(', ')}; ${declined} declined)`,
);
console.log(`first query (cold caches): ${coldMs.toFixed(0)} ms`);
console.log(`${'stage'.padEnd(10)}    p50 ms  p99 ms`);
for (const [name, xs] of stages)
  if (xs.length > 0) console.log(`${name.padEnd(10)} ${f(quantile(xs, 0.5))} ${f(quantile(xs, 0.99))}`);
console.log(`${'total'.padEnd(10)} ${f(quantile(totals, 0.5))} ${f(quantile(totals, 0.99))}`);
console.log(
  `${'search()'.padEnd(10)} ${f(quantile(searchMs, 0.5))} ${f(quantile(searchMs, 0.99))}   (reference: top-10 search, same questions)`,
);
console.log(
  `ratio ask/search p50 ${(quantile(totals, 0.5) / quantile(searchMs, 0.5)).toFixed(2)} · p99 ${(quantile(totals, 0.99) / quantile(searchMs, 0.99)).toFixed(2)}`,
);
