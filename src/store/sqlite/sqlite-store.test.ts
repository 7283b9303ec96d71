import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { describeStoreContract } from '../store-contract.js';
import { openSqliteStore } from './sqlite-store.js';
import { LATEST_VERSION } from './migrations.js';

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
