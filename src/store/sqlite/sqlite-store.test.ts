import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chunkInput, describeStoreContract, documentInput } from '../store-contract.js';
import { FIELD_COUNT, type ChunkTable, type PostingList, type Store } from '../store.js';
import { COMPACTION_LIMITS, openSqliteStore } from './sqlite-store.js';
import { LATEST_VERSION } from './migrations.js';
import { encodePostingList } from './posting-lists.js';

// SQLite runs every case of the contract; nothing is skipped.
describeStoreContract('sqlite', () => Promise.resolve(openSqliteStore({ path: ':memory:' })));

describe('openSqliteStore', () => {
  it('creates the file in WAL mode at the latest schema version', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'shelf-')), 'deep', 'shelf.db');
    const store = openSqliteStore({ path });
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    db.close();
  });

  it('refuses a database written by a newer shelf', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'shelf-')), 'shelf.db');
    const db = new Database(path);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    expect(() => openSqliteStore({ path })).toThrow(expect.objectContaining({ code: 'STORE_NEWER' }));
  });

  it('says a file that is not a database is unusable', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'shelf-')), 'shelf.db');
    writeFileSync(path, 'this is not sqlite '.repeat(100));
    expect(() => openSqliteStore({ path })).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
  });
});

describe('compact posting lists (SQLite)', () => {
  const open = async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'shelf-')), 'shelf.db');
    const store = openSqliteStore({ path });
    const kb = await store.createKnowledgeBase('kb');
    const source = await store.addSource({ kbId: kb.id, kind: 'text', location: 'x' });
    const write = (key: string, text: string, hash = `h-${key}`) =>
      store.upsertDocument({
        kbId: kb.id,
        sourceId: source.id,
        document: documentInput(key, { hash }),
        chunks: [chunkInput(0, text)],
      });
    // A second connection, to read and tamper with the tables as another process would.
    const raw = new Database(path);
    return { store, write, raw };
  };
  const ids = async (store: Store, term: string) => [...(await store.postings([term])).get(term)!.chunkIds];
  /** The chunk table as a new process would read it: on a handle of its own. */
  const tableOf = async (raw: Database.Database) => {
    const other = openSqliteStore({ path: raw.name });
    try {
      return await other.chunkTable();
    } finally {
      await other.close();
    }
  };
  const plain = (t: ChunkTable) => ({
    ...t,
    documentId: [...t.documentId],
    kbId: [...t.kbId],
    fieldLengths: [...t.fieldLengths],
  });
  const fakeList = (chunkIds: number[]) =>
    encodePostingList({
      chunkIds: Uint32Array.from(chunkIds),
      fieldTf: new Uint16Array(chunkIds.length * FIELD_COUNT).fill(1),
    });

  it('moves the index version when this connection writes and when another one commits', async () => {
    const { store, write, raw } = await open();
    await write('a', 'walrus seal');
    const first = await store.indexVersion();
    expect(await store.indexVersion()).toBe(first);
    await write('b', 'walrus');
    const second = await store.indexVersion();
    expect(second).not.toBe(first);
    // Another process deleting a document: the cached index must be dropped.
    raw.prepare("DELETE FROM documents WHERE key = 'a'").run();
    expect(await store.indexVersion()).not.toBe(second);
    raw.close();
  });

  it('reads the compact lists once written, and the index when a list is unreadable', async () => {
    const { store, write, raw } = await open();
    const a = await write('a', 'walrus seal');
    await write('b', 'walrus');
    const [chunk] = await store.getChunks(a.id);
    const version = await store.indexVersion();
    expect(await ids(store, 'walrus')).toHaveLength(2);
    expect(await store.compactPostings()).toBe(3);
    // Not a change to the index: rankers keep their caches.
    expect(await store.indexVersion()).toBe(version);
    expect(raw.prepare('SELECT count(*) AS n FROM posting_lists').get()).toEqual({ n: 2 });
    // A list changed behind the store's back shows it is read from the compact table…
    const fake = fakeList([chunk!.id]);
    raw.prepare('UPDATE posting_lists SET ids = ?, tf = ? WHERE term = ?').run(fake.ids, fake.tf, 'walrus');
    expect(await ids(store, 'walrus')).toEqual([chunk!.id]);
    // …and a broken one is not: the full-text index answers.
    raw.prepare('UPDATE posting_lists SET ids = ? WHERE term = ?').run(Buffer.from([1, 2, 3]), 'walrus');
    expect(await ids(store, 'walrus')).toHaveLength(2);
    // Lists of another format are not read at all.
    raw.prepare('UPDATE posting_lists SET ids = ?, tf = ? WHERE term = ?').run(fake.ids, fake.tf, 'walrus');
    raw.prepare('UPDATE posting_lists_state SET format = 0').run();
    expect(await ids(store, 'walrus')).toHaveLength(2);
    raw.close();
    await store.close();
  });

  it('counts chunks per term from the compact lists while they are exact, from the index otherwise', async () => {
    const { store, write, raw } = await open();
    await write('a', 'walrus seal walrus');
    const b = await write('b', 'walrus narwhal');
    await write('c', 'seal');
    const terms = ['walrus', 'seal', 'narwhal', 'absent'];
    const counts = async () => Object.fromEntries(await store.documentFrequencies(terms));
    const indexed = { walrus: 2, seal: 2, narwhal: 1, absent: 0 };
    expect(await counts()).toEqual(indexed);
    expect(await store.compactPostings()).toBe(5);
    expect(await counts()).toEqual(indexed);
    expect((await store.termStats(terms, [])).df).toEqual(new Map(Object.entries(indexed)));
    // A list changed behind the store's back shows the count comes from the compact table…
    raw
      .prepare('UPDATE posting_lists SET ids = ?, tf = ? WHERE term = ?')
      .run(fakeList([1, 2, 3]).ids, fakeList([1, 2, 3]).tf, 'seal');
    expect((await counts()).seal).toBe(3);
    // …a malformed one is counted by the index, as is every term once a chunk is deleted
    // (the lists then hold chunks the index no longer has).
    raw.prepare('UPDATE posting_lists SET ids = ? WHERE term = ?').run(Buffer.from([1, 2, 3]), 'seal');
    expect((await counts()).seal).toBe(2);
    raw
      .prepare('UPDATE posting_lists SET ids = ?, tf = ? WHERE term = ?')
      .run(fakeList([1, 2, 3]).ids, fakeList([1, 2, 3]).tf, 'seal');
    await store.deleteDocument(b.id);
    expect(await counts()).toEqual({ walrus: 1, seal: 2, narwhal: 0, absent: 0 });
    // A chunk past the covered ids: the index again.
    await write('d', 'narwhal seal');
    expect(await counts()).toEqual({ walrus: 1, seal: 3, narwhal: 1, absent: 0 });
    raw.close();
    await store.close();
  });

  it('stops a compaction when told, leaving no lists in use, and keeps current ones when told before', async () => {
    const { store, write, raw } = await open();
    const first = await write('d0', 'walrus seal note0');
    for (let i = 1; i < 6; i++) await write(`d${i}`, `walrus seal note${i}`);
    const lists = async () =>
      Object.fromEntries(
        [...(await store.postings(['walrus', 'note3']))].map(([t, l]) => [t, [...l.chunkIds]]),
      );
    const format = () => raw.prepare('SELECT format FROM posting_lists_state').pluck().get();
    expect(await store.compactPostings()).toBeGreaterThan(0);
    // A deletion: the lists are still read (without the deleted chunk), but not current.
    await store.deleteDocument(first.id);
    const indexed = await lists();
    expect(indexed.walrus).toHaveLength(5);
    // Told before it starts: nothing is touched, the lists stay in use.
    const early = new AbortController();
    early.abort(new Error('shutting down'));
    await expect(store.compactPostings(undefined, { signal: early.signal })).rejects.toThrow('shutting down');
    expect(format()).toBe(1);
    // Told while it reads the chunk table a row at a time: the state row stays unusable.
    const step = COMPACTION_LIMITS.tableStep;
    COMPACTION_LIMITS.tableStep = 1;
    try {
      const stop = new AbortController();
      const pass = store.compactPostings(undefined, { signal: stop.signal });
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      stop.abort(new Error('shutting down'));
      await expect(pass).rejects.toThrow('shutting down');
    } finally {
      COMPACTION_LIMITS.tableStep = step;
    }
    expect(format()).toBeLessThan(0);
    expect(await lists()).toEqual(indexed);
    // The next pass writes them all again.
    expect(await store.compactPostings()).toBeGreaterThan(0);
    expect(format()).toBe(1);
    expect(await lists()).toEqual(indexed);
    raw.close();
    await store.close();
  });

  it('hands stored impacts back for their key only, while the lists are exact', async () => {
    const { store, write, raw } = await open();
    await write('a', 'walrus seal');
    const b = await write('b', 'walrus');
    const asFloats = { key: 'k1', of: (l: PostingList) => Float32Array.from(l.chunkIds, (id) => id / 10) };
    expect(await store.compactPostings(asFloats)).toBe(3);
    expect(await store.compactPostings(asFloats)).toBe(0);
    const walrus = async (key?: string) => (await store.postings(['walrus'], key)).get('walrus')!;
    const listed = await walrus('k1');
    expect([...(listed.impacts ?? [])]).toEqual([...listed.chunkIds].map((id) => Math.fround(id / 10)));
    expect((await walrus('other')).impacts).toBeUndefined();
    expect((await walrus()).impacts).toBeUndefined();
    // Another key: written again.
    expect(await store.compactPostings({ ...asFloats, key: 'k2' })).toBe(3);
    expect((await walrus('k1')).impacts).toBeUndefined();
    expect((await walrus('k2')).impacts).toHaveLength(2);
    // A malformed impacts blob is not handed back; the list still is.
    raw.prepare('UPDATE posting_lists SET impacts = ? WHERE term = ?').run(Buffer.from([1, 2, 3]), 'walrus');
    expect((await walrus('k2')).impacts).toBeUndefined();
    expect((await walrus('k2')).chunkIds).toHaveLength(2);
    // After a deletion the lists stay usable, their impacts do not.
    await store.compactPostings({ ...asFloats, key: 'k3' });
    await store.deleteDocument(b.id);
    expect((await walrus('k3')).impacts).toBeUndefined();
    expect((await walrus('k3')).chunkIds).toHaveLength(1);
    raw.close();
    await store.close();
  });

  it('hands a summary back with stored impacts, and leaves the counts out when asked to', async () => {
    const { store, write, raw } = await open();
    const a = await write('a', 'walrus seal walrus');
    await write('b', 'walrus');
    const summarised = {
      key: 's1',
      of: (l: PostingList) => Float32Array.from(l.chunkIds, (id) => id / 10),
      summaryOf: (l: PostingList, impacts: Float32Array) =>
        Float64Array.of(l.chunkIds.length, impacts[0] ?? 0),
    };
    expect(await store.compactPostings(summarised)).toBe(3);
    const walrus = async (key?: string, counts = true) =>
      (await store.postings(['walrus', 'absent'], key, { counts })).get('walrus')!;
    const full = await walrus('s1');
    expect(full.fieldTf).toHaveLength(2 * FIELD_COUNT);
    expect([...(full.summary ?? [])]).toEqual([2, Math.fround((full.chunkIds[0] ?? 0) / 10)]);
    const bare = await walrus('s1', false);
    expect([...bare.chunkIds]).toEqual([...full.chunkIds]);
    expect([...(bare.impacts ?? [])]).toEqual([...(full.impacts ?? [])]);
    expect([...(bare.summary ?? [])]).toEqual([...(full.summary ?? [])]);
    expect(bare.fieldTf).toHaveLength(0);
    expect((await store.postings(['absent'], 's1', { counts: false })).get('absent')?.chunkIds).toHaveLength(
      0,
    );
    // Another key, or no impacts: counts all the same.
    expect((await walrus('other', false)).fieldTf).toHaveLength(2 * FIELD_COUNT);
    expect((await walrus(undefined, false)).fieldTf).toHaveLength(2 * FIELD_COUNT);
    // A malformed summary: the whole row, without a summary.
    raw.prepare('UPDATE posting_lists SET summary = ? WHERE term = ?').run(Buffer.from([1, 2, 3]), 'walrus');
    const ragged = await walrus('s1', false);
    expect(ragged.fieldTf).toHaveLength(2 * FIELD_COUNT);
    expect(ragged.impacts).toHaveLength(2);
    expect(ragged.summary).toBeUndefined();
    // Impacts stored without a summary: the same.
    expect(await store.compactPostings({ key: 's2', of: summarised.of })).toBe(3);
    const plain = await walrus('s2', false);
    expect(plain.fieldTf).toHaveLength(2 * FIELD_COUNT);
    expect(plain.summary).toBeUndefined();
    // After a deletion neither impacts nor summary are handed back.
    expect(await store.compactPostings(summarised)).toBe(3);
    await store.deleteDocument(a.id);
    const after = await walrus('s1', false);
    expect(after.impacts).toBeUndefined();
    expect(after.summary).toBeUndefined();
    expect(after.fieldTf).toHaveLength(FIELD_COUNT);
    raw.close();
    await store.close();
  });

  it('reads the chunk table stored with the lists while they are exact, the rows otherwise', async () => {
    const { store, write, raw } = await open();
    const a = await write('a', 'walrus seal');
    const b = await write('b', 'walrus');
    await write('c', 'seal otter otter');
    const rows = await store.chunkTable();
    // Read back two ids at a time, as a million chunks are read 100,000 at a time.
    const step = COMPACTION_LIMITS.tableStep;
    COMPACTION_LIMITS.tableStep = 2;
    try {
      await store.compactPostings();
    } finally {
      COMPACTION_LIMITS.tableStep = step;
    }
    const stored = () =>
      raw.prepare('SELECT chunk_table FROM posting_lists_state').pluck().get() as Buffer | null;
    expect(stored()?.byteLength).toBe(rows.size * (2 + FIELD_COUNT) * 4);
    expect(plain(await tableOf(raw))).toEqual(plain(rows));
    // A chunk row changed behind the store's back shows the table is read from the blob.
    const [chunkA] = await store.getChunks(a.id);
    raw.prepare('UPDATE chunks SET kb_id = 999 WHERE id = ?').run(chunkA!.id);
    expect((await tableOf(raw)).kbId[chunkA!.id]).toBe(rows.kbId[chunkA!.id]);
    raw.prepare('UPDATE chunks SET kb_id = ? WHERE id = ?').run(rows.kbId[chunkA!.id], chunkA!.id);
    // A deletion clears the chunk from it.
    const [chunkB] = await store.getChunks(b.id);
    await store.deleteDocument(b.id);
    const cleared = await tableOf(raw);
    expect(cleared.chunkCount).toBe(rows.chunkCount - 1);
    expect(cleared.documentId[chunkB!.id]).toBe(0);
    expect([
      ...cleared.fieldLengths.subarray(chunkB!.id * FIELD_COUNT, (chunkB!.id + 1) * FIELD_COUNT),
    ]).toEqual(new Array(FIELD_COUNT).fill(0));
    expect(plain(cleared)).toEqual(plain(await store.chunkTable()));
    // A chunk written past the covered ids: the rows, new chunk and all.
    const d = await write('d', 'walrus otter');
    const [chunkD] = await store.getChunks(d.id);
    const grown = await tableOf(raw);
    expect(grown.documentId[chunkD!.id]).toBe(d.id);
    expect(grown.chunkCount).toBe(rows.chunkCount);
    raw.close();
    await store.close();
  });

  it('ignores a malformed stored chunk table, and stores one for lists written without it', async () => {
    const { store, write, raw } = await open();
    const a = await write('a', 'walrus seal');
    await write('b', 'walrus');
    const rows = await store.chunkTable();
    await store.compactPostings();
    const [chunkA] = await store.getChunks(a.id);
    const good = raw.prepare('SELECT chunk_table FROM posting_lists_state').pluck().get() as Buffer;
    const words = new Uint32Array(Uint8Array.from(good).buffer);
    const size = rows.size;
    const hostile: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      good.subarray(0, good.byteLength - 4),
      Buffer.concat([good, Buffer.alloc(4)]),
      // A chunk without a knowledge base.
      Buffer.from(Uint32Array.from(words, (w, i) => (i === size + chunkA!.id ? 0 : w)).buffer),
      // A chunk missing that the lists cover (no deletion explains it).
      Buffer.from(Uint32Array.from(words, (w, i) => (i === chunkA!.id ? 0 : w)).buffer),
    ];
    // A stored kb changed shows which one is read.
    raw.prepare('UPDATE chunks SET kb_id = 999 WHERE id = ?').run(chunkA!.id);
    for (const blob of hostile) {
      raw.prepare('UPDATE posting_lists_state SET chunk_table = ?').run(blob);
      expect((await tableOf(raw)).kbId[chunkA!.id]).toBe(999);
    }
    raw.prepare('UPDATE chunks SET kb_id = ? WHERE id = ?').run(rows.kbId[chunkA!.id], chunkA!.id);
    // Lists stored before the table was: the next compaction adds the table only.
    raw.prepare('UPDATE posting_lists_state SET chunk_table = NULL').run();
    const lists = raw.prepare('SELECT count(*) FROM posting_lists').pluck().get();
    expect(await store.compactPostings()).toBe(0);
    expect(raw.prepare('SELECT count(*) FROM posting_lists').pluck().get()).toBe(lists);
    expect(
      Buffer.compare(
        raw.prepare('SELECT chunk_table FROM posting_lists_state').pluck().get() as Buffer,
        good,
      ),
    ).toBe(0);
    expect(plain(await tableOf(raw))).toEqual(plain(rows));
    raw.close();
    await store.close();
  });

  it('forgets the compact lists once a chunk id they cover can be written again', async () => {
    const { store, write, raw } = await open();
    const a = await write('a', 'walrus');
    await write('b', 'seal');
    await store.compactPostings();
    const state = () => raw.prepare('SELECT covered FROM posting_lists_state').all();
    const [{ covered } = { covered: 0 }] = state() as { covered: number }[];
    // Appending past the covered ids keeps them (the index answers for the new chunk)…
    const c = await write('c', 'walrus');
    expect(state()).toHaveLength(1);
    expect(await ids(store, 'walrus')).toHaveLength(2);
    // …and so does deleting, past them or below their highest id (no id can come back).
    await store.deleteDocument(c.id);
    await store.deleteDocument(a.id);
    expect(state()).toHaveLength(1);
    expect(await ids(store, 'walrus')).toEqual([]);
    // Replacing the last document: SQLite gives its new chunk a freed id.
    await write('b', 'otter', 'h-b2');
    const otter = await ids(store, 'otter');
    expect(otter).toHaveLength(1);
    expect(otter[0]).toBeLessThanOrEqual(covered);
    expect(state()).toHaveLength(0);
    expect(await ids(store, 'seal')).toEqual([]);
    raw.close();
    await store.close();
  });
});
