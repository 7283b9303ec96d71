/**
 * `shelf migrate --to TARGET`: copies the configured store (SQLite in the home, or
 * PostgreSQL when SHELF_DATABASE_URL is set) into an empty TARGET: a postgres:// URL, or a
 * file path for SQLite. Ids, times and vectors are kept; each backend rebuilds its own index
 * statistics. Prints every table's row count and SHA-256 on both sides and fails
 * (MIGRATE_MISMATCH) unless they all agree. The source is never changed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { databasePath } from '../../app.js';
import { ShelfError } from '../../core/errors.js';
import { openPostgresTransfer } from '../../store/postgres/postgres-transfer.js';
import { isPostgresUrl } from '../../store/postgres/postgres-store.js';
import { openSqliteTransfer } from '../../store/sqlite/sqlite-transfer.js';
import { transferStore, type TransferEndpoint } from '../../store/transfer.js';
import type { CliContext } from '../context.js';

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

function openEndpoint(target: string, schema: string | undefined): Promise<TransferEndpoint> {
  return isPostgresUrl(target)
    ? openPostgresTransfer({ url: target, ...(schema !== undefined ? { schema } : {}) })
    : openSqliteTransfer(resolve(target));
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('copy this store to PostgreSQL (--to postgres://…) or to a SQLite file (--to PATH)')
    .requiredOption('--to <target>', 'a postgres:// URL or a SQLite file path; must be empty')
    .option('--to-schema <name>', 'PostgreSQL schema for the copy (created when missing)')
    .option('--json', 'JSON output')
    .action(async (o: { to: string; toSchema?: string; json?: boolean }) => {
      if (o.toSchema !== undefined && !SCHEMA.test(o.toSchema))
        throw new ShelfError('INVALID_OPTION', {
          option: '--to-schema',
          value: o.toSchema,
          expected: 'Use a lower-case identifier (letters, digits, underscores).',
        });
      const { config } = ctx.app();
      const { url, schema } = config.database;
      const sourcePath = url === undefined ? databasePath(config) : undefined;
      if (sourcePath !== undefined && !isPostgresUrl(o.to) && resolve(o.to) === resolve(sourcePath))
        throw new ShelfError('INVALID_OPTION', {
          option: '--to',
          value: o.to,
          expected: 'Name another file than the store itself.',
        });
      const source =
        url !== undefined
          ? await openPostgresTransfer({ url, ...(schema !== undefined ? { schema } : {}) })
          : await openSqliteTransfer(sourcePath ?? '');
      try {
        const target = await openEndpoint(o.to, o.toSchema);
        try {
          const held = await target.rowCount();
          if (held > 0)
            throw new ShelfError('MIGRATE_TARGET_NOT_EMPTY', {
              target: target.location,
              detail: `${held} knowledge bases, jobs and keys`,
            });
          const report = await transferStore(source, target);
          if (o.json) ctx.json({ source: source.location, target: target.location, ...report });
          else {
            const out = ctx.io.stdout;
            out.write(`Copied ${source.location} → ${target.location}\n\n`);
            out.write(
              `${'table'.padEnd(16)} ${'rows'.padStart(9)} ${'copied'.padStart(9)}  ${'sha256 (source)'.padEnd(16)}  ${'sha256 (copy)'.padEnd(16)}\n`,
            );
            for (const t of report.tables) {
              const same = t.source.rows === t.target.rows && t.source.checksum === t.target.checksum;
              out.write(
                `${t.table.padEnd(16)} ${String(t.source.rows).padStart(9)} ${String(t.target.rows).padStart(9)}  ${t.source.checksum.slice(0, 16)}  ${t.target.checksum.slice(0, 16)}  ${same ? 'ok' : 'DIFFERENT'}\n`,
              );
            }
          }
          if (!report.identical) {
            const bad = report.tables
              .filter((t) => t.source.rows !== t.target.rows || t.source.checksum !== t.target.checksum)
              .map((t) => t.table);
            throw new ShelfError('MIGRATE_MISMATCH', { target: target.location, detail: bad.join(', ') });
          }
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    });
}
