/** `shelf keys create|list|revoke`: API keys for `shelf serve` (stored as SHA-256 only). */
import type { Command } from 'commander';
import { ShelfError } from '../../core/errors.js';
import { wholeNumber, type CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('manage API keys for shelf serve');
  keys
    .command('create <name>')
    .description('create a key; it is printed once and never stored')
    .option('--json', 'JSON output')
    .action(async (name: string, o: { json?: boolean }) => {
      const label = name.trim();
      if (label === '' || label.length > 100)
        throw new ShelfError('INVALID_OPTION', {
          option: 'name',
          value: name,
          expected: 'Use 1 to 100 characters.',
        });
      const { createApiKey } = await import('../../server/auth.js');
      const { key, record } = await createApiKey(ctx.app().store, label);
      if (o.json) ctx.json({ ...record, key });
      else
        ctx.io.stdout.write(
          `Created key ${record.id} "${record.name}":\n\n  ${key}\n\nKeep it now: shelf stores only its hash. Send it as "Authorization: Bearer KEY".\n`,
        );
    });
  keys
    .command('list')
    .description('list keys (their prefixes, never the keys)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const all = await ctx.app().store.listApiKeys();
      if (o.json) return void ctx.json(all);
      if (all.length === 0)
        return void ctx.io.stdout.write('No API keys. Create one with `shelf keys create NAME`.\n');
      for (const k of all)
        ctx.io.stdout.write(
          `${String(k.id).padStart(4)}  ${k.prefix}…  ${k.name}  created ${k.createdAt.slice(0, 10)}${
            k.revokedAt ? `  revoked ${k.revokedAt.slice(0, 10)}` : ''
          }\n`,
        );
    });
  keys
    .command('revoke <id>')
    .description('revoke a key: requests with it are refused at once')
    .action(async (raw: string) => {
      const id = wholeNumber('id', Number.MAX_SAFE_INTEGER)(raw);
      if (!(await ctx.app().store.revokeApiKey(id))) throw new ShelfError('API_KEY_NOT_FOUND', { id });
      ctx.io.stdout.write(`Revoked key ${id}.\n`);
    });
}
