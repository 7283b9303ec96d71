import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHUNK_OPTIONS } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import {
  INLINE_PREPARER,
  openPreparer,
  PREPARE_AHEAD,
  preparedInOrder,
  WORKER_MIN_DOCUMENTS,
  type ChunkPreparer,
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

let open: ChunkPreparer | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('openPreparer', () => {
  it('prepares on a worker thread exactly what prepareChunks gives, in order', async () => {
    const docs = documents(WORKER_MIN_DOCUMENTS + 36);
    open = openPreparer(docs.length);
    expect(open.threaded).toBe(true);
    const prepared = await Promise.all(docs.map((d) => open!.prepare(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
    expect(open.threaded).toBe(true);
    expect(prepared).toEqual(docs.map((d) => prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
  });

  it('starts the compiled worker from the built package (npm test builds first)', async () => {
    const built = join(PROJECT_ROOT, 'dist', 'ingest', 'prepare-pool.js');
    expect(existsSync(built), 'run `npm run build` first').toBe(true);
    const pool = (await import(pathToFileURL(built).href)) as { openPreparer: typeof openPreparer };
    const docs = documents(5);
    open = pool.openPreparer(1000);
    const prepared = await Promise.all(docs.map((d) => open!.prepare(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
    expect(open.threaded).toBe(true);
    expect(prepared).toEqual(docs.map((d) => prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
  });

  it('prepares a few documents inline: the worker would cost more than it saves', () => {
    expect(openPreparer(WORKER_MIN_DOCUMENTS - 1)).toBe(INLINE_PREPARER);
  });

  it('prepares inline when the worker cannot start', async () => {
    const docs = documents(3);
    open = openPreparer(1000, fakeWorker('throw new Error("no analyser here")'));
    const prepared = await Promise.all(docs.map((d) => open!.prepare(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
    expect(prepared).toEqual(docs.map((d) => prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS)));
    expect(open.threaded).toBe(false);
  });

  it('prepares inline what a worker that died still owed, and everything after', async () => {
    const docs = documents(4);
    // Answers nothing and exits on the second request.
    open = openPreparer(
      1000,
      fakeWorker(`
        const { parentPort } = require('node:worker_threads');
        let seen = 0;
        parentPort.on('message', () => { if (++seen === 2) process.exit(3); });
      `),
    );
    const pending = docs.slice(0, 2).map((d) => open!.prepare(d, d.tags, DEFAULT_CHUNK_OPTIONS));
    const first = await Promise.all(pending);
    const later = await open.prepare(docs[3]!, docs[3]!.tags, DEFAULT_CHUNK_OPTIONS);
    expect([...first, later]).toEqual(
      [docs[0]!, docs[1]!, docs[3]!].map((d) => prepareChunks(d, d.tags, DEFAULT_CHUNK_OPTIONS)),
    );
    expect(open.threaded).toBe(false);
  });

  it("passes the worker's errors on, ShelfErrors as themselves", async () => {
    const [doc] = documents(1);
    open = openPreparer(
      1000,
      fakeWorker(`
        const { parentPort } = require('node:worker_threads');
        parentPort.on('message', ({ id }) => parentPort.postMessage(id === 0
          ? { id, error: { code: 'INTERNAL', details: { detail: 'chunker broke' }, message: 'x' } }
          : { id, error: { message: 'plain failure' } }));
      `),
    );
    const shelfError = await open.prepare(doc!, [], DEFAULT_CHUNK_OPTIONS).catch((e: unknown) => e);
    expect(shelfError).toBeInstanceOf(ShelfError);
    expect((shelfError as ShelfError).code).toBe('INTERNAL');
    expect((shelfError as ShelfError).message).toContain('chunker broke');
    await expect(open.prepare(doc!, [], DEFAULT_CHUNK_OPTIONS)).rejects.toThrow('plain failure');
  });

  it('rejects what is still open when closed, and prepares inline after', async () => {
    const [doc] = documents(1);
    open = openPreparer(
      1000,
      fakeWorker(`require('node:worker_threads').parentPort.on('message', () => {})`),
    );
    const pending = open.prepare(doc!, [], DEFAULT_CHUNK_OPTIONS).catch((e: unknown) => e);
    await open.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(String(await pending)).toContain('closed');
    expect(await open.prepare(doc!, [], DEFAULT_CHUNK_OPTIONS)).toEqual(
      prepareChunks(doc!, [], DEFAULT_CHUNK_OPTIONS),
    );
  });
});

describe('preparedInOrder', () => {
  it('yields every item in order, with chunks only for those it was asked to prepare', async () => {
    const docs = documents(WORKER_MIN_DOCUMENTS + 10);
    open = openPreparer(docs.length);
    const seen: [string, number | undefined][] = [];
    for await (const [doc, chunks] of preparedInOrder(open, docs, (d) =>
      Number(d.key.slice(4)) % 4 === 1 ? undefined : [d, d.tags, DEFAULT_CHUNK_OPTIONS],
    ))
      seen.push([doc.key, chunks?.length]);
    expect(seen.map(([key]) => key)).toEqual(docs.map((d) => d.key));
    expect(seen.filter(([, n]) => n === undefined)).toHaveLength(docs.filter((_, i) => i % 4 === 1).length);
    expect(
      seen.every(([key, n]) => (Number(key.slice(4)) % 4 === 1 ? n === undefined : n !== undefined && n > 0)),
    ).toBe(true);
  });

  it('keeps at most PREPARE_AHEAD documents in preparation, and stops asking when the caller stops', async () => {
    const docs = documents(PREPARE_AHEAD * 3);
    let asked = 0;
    const counting: ChunkPreparer = {
      ...INLINE_PREPARER,
      prepare: (...a) => {
        asked++;
        return INLINE_PREPARER.prepare(...a);
      },
    };
    let handled = 0;
    for await (const [, chunks] of preparedInOrder(counting, docs, (d) => [
      d,
      d.tags,
      DEFAULT_CHUNK_OPTIONS,
    ])) {
      expect(chunks).toBeDefined();
      expect(asked).toBeLessThanOrEqual(handled + PREPARE_AHEAD);
      if (++handled === 5) break;
    }
    expect(asked).toBe(5 + PREPARE_AHEAD - 1);
  });

  it('passes a failed preparation on at its turn, after the documents before it', async () => {
    const docs = documents(4);
    const failing: ChunkPreparer = {
      ...INLINE_PREPARER,
      prepare: (d, ...rest) =>
        d.key === 'doc-2'
          ? Promise.reject(new Error('broken document'))
          : INLINE_PREPARER.prepare(d, ...rest),
    };
    const handled: string[] = [];
    await expect(async () => {
      for await (const [doc] of preparedInOrder(failing, docs, (d) => [d, d.tags, DEFAULT_CHUNK_OPTIONS]))
        handled.push(doc.key);
    }).rejects.toThrow('broken document');
    expect(handled).toEqual(['doc-0', 'doc-1']);
  });
});
