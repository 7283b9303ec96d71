import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHUNK_OPTIONS } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import type { ChunkInput } from '../store/store.js';
import { ShelfError } from '../core/errors.js';
import {
  INLINE_PREPARER,
  openPreparer,
  PREPARE_AHEAD,
  PREPARE_BATCH,
  preparedBatches,
  preparedInOrder,
  WORKER_MIN_DOCUMENTS,
  type ChunkPreparer,
  type PrepareItem,
} from './prepare-pool.js';
import { prepareChunks } from './prepare.js';
import { PROJECT_ROOT } from '../test-support/shared.js';

/** Documents with headings, code, tables and pages: what chunking and analysis have to keep. */
function documents(n: number): ParsedDocument[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `doc-${i}`,
    kind: 'pdf',
    title: `Notes ${i}: TcpListener and the SYN queue`,
    tags: i % 3 === 0 ? ['networking', 'Rust'] : [],
    pageCount: 2,
    blocks: [
      { kind: 'heading', level: 1, text: `Chapter ${i}`, anchor: `chapter-${i}`, page: 1 },
      {
        kind: 'paragraph',
        text: `The backlog of listen() bounds the accept queue; see RFC 793 section ${i}.`,
        page: 1,
      },
      {
        kind: 'code',
        language: 'rust',
        text: `let listener = TcpListener::bind("127.0.0.1:${8000 + i}")?;`,
        page: 1,
      },
      { kind: 'heading', level: 2, text: 'Loading the GDT', anchor: 'gdt', page: 2 },
      { kind: 'list', ordered: false, items: ['camelCaseName', 'snake_case_name', `v1.${i}.0`], page: 2 },
      {
        kind: 'table',
        rows: [
          ['Header', 'Content-Type'],
          [`row ${i}`, 'text/html; charset=utf-8'],
        ],
        header: true,
        page: 2,
      },
    ],
  }));
}

/** A worker that runs `code` instead of prepare-worker. */
const fakeWorker = (code: string) => (): Worker => new Worker(code, { eval: true });

const item = (doc: ParsedDocument): PrepareItem => ({ doc, tags: doc.tags, options: DEFAULT_CHUNK_OPTIONS });
const inline = (docs: readonly ParsedDocument[]) =>
  docs.map((d) => prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS));

/** An inline preparer that fails the document keyed `key`, with 'broken document'. */
const failingAt = (key: string): ChunkPreparer => ({
  ...INLINE_PREPARER,
  prepare: (items) =>
    Promise.resolve(
      items.map((i) =>
        i.doc.key === key ? new Error('broken document') : prepareChunks(i.doc, i.tags, i.options),
      ),
    ),
});

let open: ChunkPreparer | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('openPreparer', () => {
  it('prepares batches on a worker thread exactly as prepareChunks does, in order', async () => {
    const docs = documents(WORKER_MIN_DOCUMENTS + 36);
    const preparer = openPreparer(docs.length);
    open = preparer;
    expect(preparer.threaded).toBe(true);
    const batches = [docs.slice(0, 1), docs.slice(1, 40), docs.slice(40)];
    const prepared = await Promise.all(batches.map((b) => preparer.prepare(b.map(item))));
    expect(preparer.threaded).toBe(true);
    expect(prepared.flat()).toEqual(inline(docs));
  });

  it('starts the compiled worker from the built package (npm test builds first)', async () => {
    const built = join(PROJECT_ROOT, 'dist', 'ingest', 'prepare-pool.js');
    expect(existsSync(built), 'run `npm run build` first').toBe(true);
    const pool = (await import(pathToFileURL(built).href)) as { openPreparer: typeof openPreparer };
    const docs = documents(5);
    open = pool.openPreparer(1000);
    expect(await open.prepare(docs.map(item))).toEqual(inline(docs));
    expect(open.threaded).toBe(true);
  });

  it('prepares a few documents inline: the worker would cost more than it saves', () => {
    expect(openPreparer(WORKER_MIN_DOCUMENTS - 1)).toBe(INLINE_PREPARER);
  });

  it('prepares inline when the worker cannot start', async () => {
    const docs = documents(3);
    open = openPreparer(1000, fakeWorker('throw new Error("no analyser here")'));
    expect(await open.prepare(docs.map(item))).toEqual(inline(docs));
    expect(open.threaded).toBe(false);
  });

  it('prepares inline what a worker that died still owed, and everything after', async () => {
    const docs = documents(4);
    // Answers nothing and exits on the second request.
    const preparer = openPreparer(
      1000,
      fakeWorker(`
        const { parentPort } = require('node:worker_threads');
        let seen = 0;
        parentPort.on('message', () => { if (++seen === 2) process.exit(3); });
      `),
    );
    open = preparer;
    const first = await Promise.all([preparer.prepare([item(docs[0]!)]), preparer.prepare([item(docs[1]!)])]);
    const later = await preparer.prepare([item(docs[3]!)]);
    expect([...first.flat(), ...later]).toEqual(inline([docs[0]!, docs[1]!, docs[3]!]));
    expect(preparer.threaded).toBe(false);
  });

  it("passes the worker's errors on per document, ShelfErrors as themselves", async () => {
    const docs = documents(3);
    open = openPreparer(
      1000,
      fakeWorker(`
        const { parentPort } = require('node:worker_threads');
        parentPort.on('message', ({ id }) => parentPort.postMessage({ id, results: [
          { error: { code: 'INTERNAL', details: { detail: 'chunker broke' }, message: 'x' } },
          { chunks: [] },
          { error: { message: 'plain failure' } },
        ] }));
      `),
    );
    const [shelfError, chunks, plain] = await open.prepare(docs.map(item));
    expect(shelfError).toBeInstanceOf(ShelfError);
    expect((shelfError as ShelfError).code).toBe('INTERNAL');
    expect((shelfError as ShelfError).message).toContain('chunker broke');
    expect(chunks).toEqual([]);
    expect(plain).toBeInstanceOf(Error);
    expect((plain as Error).message).toBe('plain failure');
  });

  it('rejects what is still open when closed, and prepares inline after', async () => {
    const [doc] = documents(1);
    open = openPreparer(
      1000,
      fakeWorker(`require('node:worker_threads').parentPort.on('message', () => {})`),
    );
    const pending = open.prepare([item(doc!)]).catch((e: unknown) => e);
    await open.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(String(await pending)).toContain('closed');
    expect(await open.prepare([item(doc!)])).toEqual(inline([doc!]));
  });
});

describe('preparedInOrder', () => {
  it('yields every item in order, with chunks only for those it was asked to prepare', async () => {
    const docs = documents(WORKER_MIN_DOCUMENTS * 2 + 10);
    const skipped = (d: ParsedDocument): boolean => Number(d.key.slice(4)) % 4 === 1;
    open = openPreparer(docs.length);
    const seen: [string, ChunkInput[] | undefined][] = [];
    for await (const [doc, chunks] of preparedInOrder(open, docs, (d) => (skipped(d) ? undefined : item(d))))
      seen.push([doc.key, chunks]);
    expect(seen.map(([key]) => key)).toEqual(docs.map((d) => d.key));
    expect(seen.map(([, chunks]) => chunks)).toEqual(
      docs.map((d) => (skipped(d) ? undefined : prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS))),
    );
    expect(open.threaded).toBe(true);
  });

  it('sends whole batches, at most PREPARE_AHEAD documents ahead, and stops when the caller stops', async () => {
    const docs = documents(PREPARE_AHEAD * 3);
    const batches: number[] = [];
    const counting: ChunkPreparer = {
      ...INLINE_PREPARER,
      prepare: (items) => {
        batches.push(items.length);
        return INLINE_PREPARER.prepare(items);
      },
    };
    const asked = (): number => batches.reduce((a, b) => a + b, 0);
    let handled = 0;
    for await (const [, chunks] of preparedInOrder(counting, docs, item)) {
      expect(chunks).toBeDefined();
      expect(asked()).toBeLessThanOrEqual(handled + PREPARE_AHEAD);
      if (++handled === PREPARE_BATCH + 5) break;
    }
    expect(batches.every((n) => n === PREPARE_BATCH)).toBe(true);
    expect(asked()).toBe(PREPARE_AHEAD + PREPARE_BATCH);
  });

  it('throws a failed preparation at its turn, after the documents before it', async () => {
    const docs = documents(4);
    const failing = failingAt('doc-2');
    const handled: string[] = [];
    await expect(async () => {
      for await (const [doc] of preparedInOrder(failing, docs, item)) handled.push(doc.key);
    }).rejects.toThrow('broken document');
    expect(handled).toEqual(['doc-0', 'doc-1']);
  });
});

describe('preparedBatches', () => {
  function* slices(docs: readonly ParsedDocument[], size: number): Generator<ParsedDocument[]> {
    for (let at = 0; at < docs.length; at += size) yield docs.slice(at, at + size);
  }

  it('yields every batch in order with its chunks, prepared on the worker thread', async () => {
    const docs = documents(WORKER_MIN_DOCUMENTS * 2 + 7);
    open = openPreparer(docs.length);
    const seen: [string, ChunkInput[]][] = [];
    const sizes: number[] = [];
    for await (const batch of preparedBatches(open, slices(docs, 50), item)) {
      sizes.push(batch.length);
      for (const [doc, chunks] of batch) seen.push([doc.key, chunks]);
    }
    expect(sizes).toEqual([50, 50, 35]);
    expect(seen.map(([key]) => key)).toEqual(docs.map((d) => d.key));
    expect(seen.map(([, chunks]) => chunks)).toEqual(inline(docs));
    expect(open.threaded).toBe(true);
  });

  it('sends the next batch before waiting for this one, and draws batches only one ahead', async () => {
    const docs = documents(10 * 8);
    // A preparer whose batches finish only when the test says so.
    const sent: { key: string; finish: () => void }[] = [];
    const held: ChunkPreparer = {
      ...INLINE_PREPARER,
      prepare: (items) =>
        new Promise((resolve) =>
          sent.push({ key: items[0]?.doc.key ?? '', finish: () => resolve(inline(items.map((i) => i.doc))) }),
        ),
    };
    let drawn = 0;
    function* counted(): Generator<ParsedDocument[]> {
      for (const batch of slices(docs, 10)) {
        drawn++;
        yield batch;
      }
    }
    const batches = preparedBatches(held, counted(), item);
    for (let handled = 0; handled < 5; handled++) {
      const next = batches.next();
      await new Promise((resolve) => setImmediate(resolve));
      // Waiting for this batch, with the one after it already sent (and no more drawn).
      expect(sent.map((s) => s.key)).toEqual(Array.from({ length: handled + 2 }, (_, i) => `doc-${i * 10}`));
      expect(drawn).toBe(handled + 2);
      sent[handled]?.finish();
      const result = await next;
      if (result.done === true) throw new Error('the batches ended early');
      expect(result.value.map(([doc]) => doc.key)).toEqual(
        docs.slice(handled * 10, handled * 10 + 10).map((d) => d.key),
      );
    }
    await batches.return(undefined);
    expect(drawn).toBe(6);
  });

  it("throws a failed preparation at its batch's turn, after the batches before it", async () => {
    const docs = documents(9);
    const failing = failingAt('doc-7');
    const handled: string[] = [];
    await expect(async () => {
      for await (const batch of preparedBatches(failing, slices(docs, 3), item))
        handled.push(...batch.map(([doc]) => doc.key));
    }).rejects.toThrow('broken document');
    expect(handled).toEqual(['doc-0', 'doc-1', 'doc-2', 'doc-3', 'doc-4', 'doc-5']);
  });

  it('yields nothing for no batches', async () => {
    const batches: unknown[] = [];
    for await (const batch of preparedBatches(INLINE_PREPARER, [], item)) batches.push(batch);
    expect(batches).toEqual([]);
  });
});
