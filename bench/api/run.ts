/**
 * bench/api: the HTTP API under load.
 *
 * 1. autocannon, 50 connections for 20 s, against `/v1/knowledgebases/{kb}/search` over the
 *    100,000-chunk synthetic corpus (queries rotate through the corpus query set), beside a
 *    bare Fastify handler returning a constant in the same run: requests/s, p50, p99, errors.
 * 2. 20 concurrent streamed answers (SSE) while an ingest job runs: every stream must deliver
 *    route, sources, tokens, answer and trace in order, and the job must still succeed.
 *
 *   npx tsx bench/api/run.ts [documents=20000] [seconds=20] [--backend postgres]
 * With `--backend postgres` the whole run is repeated with the PostgreSQL store.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { openApp } from '../../src/app.js';
import { DEFAULT_CHUNK_OPTIONS } from '../../src/chunk/chunk.js';
import { configFor } from '../../src/core/config.js';
import { contentHash, documentInput, prepareChunks } from '../../src/ingest/prepare.js';
import { startServer } from '../../src/server/server.js';
import { benchBackends, openBenchPostgres, positionalArgs, type Backend } from '../lib/postgres.js';
import { syntheticCorpus } from '../search/synthetic.js';

const args = positionalArgs();
const documents = Number(args[2] ?? 20_000);
const seconds = Number(args[3] ?? 20);
let anyFailed = false;

/** The whole benchmark on one backend. */
async function runApi(backend: Backend): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'shelf-bench-api-'));
  const roots = join(home, 'roots');
  mkdirSync(roots);
  const config = configFor(home, {
    server: { rateLimitPerMinute: 100_000_000, roots: [roots] },
  });
  const app = openApp({ config, ...(backend === 'postgres' ? { store: openBenchPostgres().store } : {}) });
  console.log(`\n## api (${backend})\n`);

  // Fill the store as bench/search does.
  const corpus = syntheticCorpus({ documents });
  const kb = await app.store.createKnowledgeBase('bench');
  const source = await app.store.addSource({ kbId: kb.id, kind: 'feed', location: 'bench' });
  let chunks = 0;
  for (const doc of corpus.documents()) {
    const prepared = prepareChunks(doc, doc.tags, DEFAULT_CHUNK_OPTIONS);
    chunks += prepared.length;
    await app.store.upsertDocument({
      kbId: kb.id,
      sourceId: source.id,
      document: documentInput(doc, doc.tags, contentHash(doc, doc.tags, DEFAULT_CHUNK_OPTIONS)),
      chunks: prepared,
    });
  }
  const queries = corpus.queries(500).map((q) => encodeURIComponent(q));

  const server = await startServer({ app, host: '127.0.0.1', port: 0 });
  const bare = Fastify({ logger: false });
  bare.get('/constant', () => ({ ok: true }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareAddress = bare.server.address();
  const bareUrl = `http://127.0.0.1:${typeof bareAddress === 'object' && bareAddress ? bareAddress.port : 0}`;

  interface Figures {
    rps: number;
    p50: number;
    p99: number;
    errors: number;
    non2xx: number;
    requests: number;
  }

  async function load(url: string, paths: readonly string[]): Promise<Figures> {
    let i = 0;
    const result = await autocannon({
      url,
      connections: 50,
      duration: seconds,
      // Under 50 connections a slow search waits behind the others; count only real failures.
      timeout: 60,
      requests: [
        {
          setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] ?? '/' }),
        },
      ],
    });
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      requests: result.requests.total,
    };
  }

  // Warm the ranker's caches once, as a running server would be.
  await fetch(`${server.url}/v1/knowledgebases/bench/search?q=${queries[0] ?? 'x'}`);
  const bareFigures = await load(bareUrl, ['/constant']);
  const searchFigures = await load(
    server.url,
    queries.map((q) => `/v1/knowledgebases/bench/search?q=${q}`),
  );

  const row = (name: string, f: Figures): string =>
    `${name.padEnd(22)} ${f.rps.toFixed(0).padStart(8)} ${String(f.p50).padStart(7)} ${String(f.p99).padStart(7)} ${String(f.errors).padStart(6)} ${String(f.non2xx).padStart(6)} ${String(f.requests).padStart(8)}`;
  console.log(`corpus: ${documents} documents, ${chunks} chunks; 50 connections, ${seconds} s each`);
  console.log(`${''.padEnd(22)}    req/s  p50 ms  p99 ms errors non2xx requests`);
  console.log(row('bare Fastify constant', bareFigures));
  console.log(row('shelf search', searchFigures));
  console.log(
    `search throughput = ${((searchFigures.rps / bareFigures.rps) * 100).toFixed(1)}% of the bare handler`,
  );

  // Part 2: 20 concurrent SSE answers while an ingest job runs.
  const ingestDir = join(roots, 'ingest');
  mkdirSync(ingestDir);
  const small = syntheticCorpus({ documents: 1500, seed: 7 });
  let n = 0;
  for (const doc of small.documents()) {
    const body = doc.blocks
      .map((b) => (b.kind === 'heading' ? `## ${b.text}` : 'text' in b ? b.text : ''))
      .join('\n\n');
    writeFileSync(join(ingestDir, `doc-${n++}.md`), `# ${doc.title}\n\n${body}\n`);
  }
  await fetch(`${server.url}/v1/knowledgebases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ingest' }),
  });
  const started = await fetch(`${server.url}/v1/knowledgebases/ingest/sources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: ingestDir }),
  });
  const { job } = (await started.json()) as { job: { id: number } };

  const EXPECTED = ['route', 'sources', 'answer', 'trace'];
  const askOnce = async (question: string): Promise<{ ok: boolean; ms: number; tokens: number }> => {
    const t = performance.now();
    const r = await fetch(`${server.url}/v1/knowledgebases/bench/answers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ question }),
    });
    const text = await r.text();
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    const tokens = names.filter((x) => x === 'token').length;
    const ok =
      r.status === 200 && JSON.stringify(names.filter((x) => x !== 'token')) === JSON.stringify(EXPECTED);
    return { ok, ms: performance.now() - t, tokens };
  };
  const jobStateAtStart = (
    (await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json()) as { state: string }
  ).state;
  const questions = corpus.queries(20).map((q) => `what is ${q}?`);
  const t0 = performance.now();
  const answers = await Promise.all(questions.map(askOnce));
  const wall = performance.now() - t0;
  const jobStateAfterAnswers = (
    (await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json()) as { state: string }
  ).state;
  let final: { state: string; result?: { added?: number } } = { state: 'running' };
  while (final.state === 'queued' || final.state === 'running') {
    await new Promise((r) => setTimeout(r, 200));
    final = (await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json()) as typeof final;
  }
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  console.log('');
  console.log(
    `SSE: ${answers.filter((a) => a.ok).length}/20 streams complete and in order, ${answers.reduce((s, a) => s + a.tokens, 0)} tokens; ` +
      `slowest ${ms.at(-1)?.toFixed(0)} ms, median ${ms[10]?.toFixed(0)} ms, all in ${wall.toFixed(0)} ms`,
  );
  console.log(
    `ingest job: ${jobStateAtStart} when the answers started, ${jobStateAfterAnswers} when they ended, finally ${final.state} (${final.result?.added ?? 0} documents added)`,
  );

  await server.close();
  await bare.close();
  await app.close();
  rmSync(home, { recursive: true, force: true });
  const failed =
    bareFigures.errors + searchFigures.errors + searchFigures.non2xx > 0 ||
    answers.some((a) => !a.ok) ||
    final.state !== 'succeeded';
  anyFailed ||= failed;
}

for (const backend of benchBackends()) await runApi(backend);
process.exitCode = anyFailed ? 1 : 0;
