/**
 * Crash safety: a shelf process killed with SIGKILL in the middle of an ingest leaves
 * the store consistent (every document with all its chunks, every chunk indexed).
 * Runs the built CLI (npm test builds first) in a real child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { rssFeed } from '../test-support/harness.js';
import { PROJECT_ROOT } from '../test-support/shared.js';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'shelf.js');

function documentsIn(path: string): number {
  if (!existsSync(path)) return 0;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created or not migrated yet
  }
}

describe('an ingest killed with SIGKILL', () => {
  it('leaves no document without its chunks and no chunk without its index row', async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    const home = mkdtempSync(join(tmpdir(), 'shelf-kill-'));
    const feed = join(home, 'big.xml');
    const paragraph = 'The kernel schedules tasks and the scheduler balances run queues across cores. ';
    writeFileSync(
      feed,
      rssFeed(
        Array.from({ length: 4000 }, (_, i) => ({
          guid: `item-${i}`,
          title: `Item ${i}`,
          body: `<h2>Part ${i}</h2><p>${paragraph.repeat(20)}</p><pre><code>fn main() { println!("${i}"); }</code></pre>`,
        })),
      ),
    );
    const dbPath = join(home, 'shelf.db');
    const child = spawn(process.execPath, [CLI, 'add', feed], {
      env: { ...process.env, SHELF_HOME: home },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill as soon as some documents are committed, while many are still to come.
    const deadline = Date.now() + 60_000;
    while (documentsIn(dbPath) < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const stored = documentsIn(dbPath);
    expect(stored).toBeGreaterThanOrEqual(50);
    expect(stored).toBeLessThan(4000);
    const store = openSqliteStore({ path: dbPath });
    try {
      expect(await store.integrityCheck()).toEqual({
        documentsWithoutChunks: 0,
        chunksWithoutIndexRow: 0,
        indexRowsWithoutChunk: 0,
        chunkCountMismatches: 0,
      });
    } finally {
      await store.close();
    }
  }, 90_000);
});
