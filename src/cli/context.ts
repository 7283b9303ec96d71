/**
 * What every CLI command receives: the io streams, the lazily opened app, and helpers
 * for knowledge bases, filters and output. Command modules (`commands/*.ts`) export a
 * `register(program, ctx)` function; `main.ts` calls each one.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import cliProgress from 'cli-progress';
import { ingestContext, type App } from '../app.js';
import { parseSince } from '../core/dates.js';
import { ShelfError } from '../core/errors.js';
import { NO_PROGRESS, type Progress } from '../core/seams.js';
import type { IngestContext } from '../ingest/ingest.js';
import type { DocumentFilter, KnowledgeBase } from '../store/store.js';
import type { Style } from './format.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  /** Standard input, for interactive commands (`shelf chat`). */
  readonly stdin?: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  /** True when stdout is a terminal: enables colour and progress bars. */
  readonly isTTY: boolean;
}

export const DEFAULT_KB = 'default';
const KB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface CliContext {
  readonly io: CliIo;
  readonly style: Style;
  /** Opens the store on first use, with the global --home/--config options. */
  app(): App;
  /** Sets the process exit code without stopping (e.g. some inputs of a sync failed). */
  fail(code: number): void;
  json(value: unknown): void;
  checkKbName(name: string): string;
  requireKb(name: string): Promise<KnowledgeBase>;
  /** The default knowledge base is created on first use; others must exist. */
  kbForWriting(name: string): Promise<KnowledgeBase>;
  ingestContext(progress: Progress): IngestContext;
  /** A progress bar on stderr when attached to a terminal and enabled. */
  progress(enabled: boolean): Progress & { stop(): void };
  filterFrom(o: FilterOptions): Promise<DocumentFilter>;
}

export interface FilterOptions {
  readonly author?: string;
  readonly tag?: string;
  readonly since?: string;
  readonly source?: string;
  readonly problems?: boolean;
}

export function kbOption(): Option {
  return new Option('--kb <name>', 'knowledge base').default(DEFAULT_KB);
}

/** Adds --author/--tag/--since/--source to a command. */
export function withFilters(command: Command): Command {
  return command
    .option('--author <name>', 'author contains')
    .option('--tag <tag>', 'has this tag')
    .option('--since <when>', 'published since a date (2024-03-01) or span (30d, 6m)')
    .option('--source <id-or-text>', 'from this source (id, or text in its location)');
}

/** The `eval` command group, shared by the modules that add `eval qa` and `eval beir`. */
export function evalCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'eval');
  return existing ?? program.command('eval').description('evaluate retrieval and answers');
}

export function wholeNumber(name: string, max = 100_000) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new ShelfError('INVALID_OPTION', {
        option: name,
        value,
        expected: `Use a whole number from 0 to ${max}.`,
      });
    return n;
  };
}

export function createCliContext(options: {
  io: CliIo;
  style: Style;
  app: () => App;
  fail: (code: number) => void;
}): CliContext {
  const { io, app } = options;
  const ctx: CliContext = {
    io,
    style: options.style,
    app,
    fail: options.fail,
    json: (value) => io.stdout.write(JSON.stringify(value, null, 2) + '\n'),
    checkKbName(name) {
      if (!KB_NAME.test(name)) throw new ShelfError('KB_NAME_INVALID', { name });
      return name;
    },
    async requireKb(name) {
      const kb = await app().store.getKnowledgeBase(ctx.checkKbName(name));
      if (!kb) throw new ShelfError('KB_NOT_FOUND', { name });
      return kb;
    },
    async kbForWriting(name) {
      const existing = await app().store.getKnowledgeBase(ctx.checkKbName(name));
      if (existing) return existing;
      if (name !== DEFAULT_KB) throw new ShelfError('KB_NOT_FOUND', { name });
      return app().store.createKnowledgeBase(name);
    },
    ingestContext: (progress) => ingestContext(app(), progress),
    progress(enabled) {
      if (!enabled || !io.isTTY) return { ...NO_PROGRESS, stop: () => undefined };
      const bar = new cliProgress.SingleBar(
        {
          format: ' {bar} {value}/{total} {label}',
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const start = (total: number): void => {
        bar.start(total, 0, { label: '' });
        started = true;
      };
      return {
        total(n) {
          if (!started) start(n);
          else bar.setTotal(n);
        },
        tick(n = 1, label = '') {
          if (!started) start(0);
          bar.increment(n, { label: label.slice(0, 40) });
        },
        stop() {
          if (started) bar.stop();
        },
      };
    },
    async filterFrom(o) {
      let sourceId: number | undefined;
      if (o.source !== undefined) {
        const n = Number(o.source);
        if (Number.isInteger(n)) sourceId = n;
        else {
          const needle = o.source;
          const match = (await app().store.listSources()).find((s) => s.location.includes(needle));
          if (!match) throw new ShelfError('SOURCE_NOT_FOUND', { id: o.source });
          sourceId = match.id;
        }
      }
      return {
        ...(o.author !== undefined ? { author: o.author } : {}),
        ...(o.tag !== undefined ? { tag: o.tag } : {}),
        ...(o.since !== undefined ? { since: parseSince(o.since, app().clock.now()) } : {}),
        ...(sourceId !== undefined ? { sourceId } : {}),
        ...(o.problems ? { problems: true } : {}),
      };
    },
  };
  return ctx;
}
