import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApp } from '../../app.js';
import { configFor } from '../../core/config.js';
import { authenticate } from '../../server/auth.js';
import { runCli, type CliRun } from '../test-support/run-cli.js';

const shelf = (home: string, ...argv: string[]): Promise<CliRun> => runCli(argv, { home });

describe('shelf keys', () => {
  it('creates a key shown once, lists it by prefix only, and revokes it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'shelf-keys-'));
    const created = await shelf(home, 'keys', 'create', 'laptop', '--json');
    expect(created.code).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: number };
    expect(key).toMatch(/^shelf_[A-Za-z0-9_-]{43}$/);
    const listed = await shelf(home, 'keys', 'list');
    expect(listed.stdout).toContain('laptop');
    expect(listed.stdout).toContain(key.slice(0, 12));
    expect(listed.stdout).not.toContain(key);

    const app = openApp({ config: configFor(home) });
    try {
      await expect(authenticate(app.store, `Bearer ${key}`)).resolves.toMatchObject({ id });
      expect((await shelf(home, 'keys', 'revoke', String(id))).code).toBe(0);
      await expect(authenticate(app.store, `Bearer ${key}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    } finally {
      await app.close();
    }
    const missing = await shelf(home, 'keys', 'revoke', '999');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('There is no API key 999.');
  });

  it('refuses to serve beyond loopback without a key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'shelf-keys-'));
    const r = await shelf(home, 'serve', '--host', '0.0.0.0', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Refusing to listen on 0.0.0.0 without API keys');
  });
});
