/**
 * The `shelf` command line. `main(argv, io)` is the entry point tests drive; it never
 * calls process.exit and returns the exit code:
 *   0 ok · 1 internal error · 2 usage · 3 not found · 4 conflict · 5 bad input (or some
 *   inputs of a sync failed) · 6 remote failure · 7 forbidden · 8 unavailable (locked).
 */
import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { openApp, type App } from '../app.js';
import { loadConfig } from '../core/config.js';
import { parseSince } from '../core/dates.js';
import { EXIT_CODES, ShelfError, toShelfError } from '../core/errors.js';
import { NO_PROGRESS, type Progress } from '../core/seams.js';
import { addSource, syncAll, syncSource, type IngestContext, type SyncReport } from '../ingest/ingest.js';
import { search } from '../search/search.js';
import type { DocumentFilter, KnowledgeBase } from '../store/store.js';
import {
  ANSI,
  PLAIN,
  formatDocuments,
  formatHits,
  formatKnowledgeBases,
  formatProblems,
  formatReport,
  formatSources,
} from './format.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  /** True when stdout is a terminal: enables colour and progress bars. */
  readonly isTTY: boolean;
}

export const DEFAULT_KB = 'default';
const KB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface GlobalOptions {
  home?: string;
  config?: string;
}

function json(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 100_000)
      throw new ShelfError('INVALID_OPTION', {
        option: name,
        value,
        expected: 'Use a whole number from 0 to 100000.',
      });
    return n;
  };
}

/** A progress bar on stderr when attached to a terminal, nothing otherwise. */
function progressFor(io: CliIo, enabled: boolean): Progress & { stop(): void } {
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
  return {
    total(n) {
      if (!started) bar.start(n, 0, { label: '' });
      else bar.setTotal(n);
      started = true;
    },
    tick(n = 1, label = '') {
      if (!started) {
        bar.start(0, 0, { label: '' });
        started = true;
      }
      bar.increment(n, { label: label.slice(0, 40) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let app: App | undefined;
  const style = io.isTTY ? ANSI : PLAIN;
  let exitCode = 0;

  const program = new Command('shelf')
    .description(
      'A self-hosted knowledge base for technical reading: feeds, PDFs, pages and Markdown in; cited answers out.',
    )
    .option('--home <dir>', 'data directory (default: $SHELF_HOME or ~/.local/share/shelf)')
    .option('--config <file>', 'configuration file (default: $SHELF_HOME/shelf.config.json)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError();

  const getApp = (): App => {
    if (!app) {
      const g = program.opts<GlobalOptions>();
      const config = loadConfig({
        env: io.env,
        ...(g.home !== undefined ? { home: g.home } : {}),
        ...(g.config !== undefined ? { configPath: g.config } : {}),
      });
      app = openApp({ config });
    }
    return app;
  };

  const checkKbName = (name: string): string => {
    if (!KB_NAME.test(name)) throw new ShelfError('KB_NAME_INVALID', { name });
    return name;
  };

  const requireKb = async (name: string): Promise<KnowledgeBase> => {
    const kb = await getApp().store.getKnowledgeBase(checkKbName(name));
    if (!kb) throw new ShelfError('KB_NOT_FOUND', { name });
    return kb;
  };

  /** The default knowledge base springs into being on first use; others must be created. */
  const kbForWriting = async (name: string): Promise<KnowledgeBase> => {
    const existing = await getApp().store.getKnowledgeBase(checkKbName(name));
    if (existing) return existing;
    if (name !== DEFAULT_KB) throw new ShelfError('KB_NOT_FOUND', { name });
    return getApp().store.createKnowledgeBase(name);
  };

  const ingestContext = (progress: Progress): IngestContext => {
    const a = getApp();
    return {
      store: a.store,
      fetcher: a.fetcher,
      config: a.config,
      clock: a.clock,
      logger: a.logger,
      progress,
    };
  };

  const reportOutcome = (reports: readonly SyncReport[], asJson: boolean): void => {
    if (asJson) json(io, reports);
    else for (const r of reports) io.stdout.write(formatReport(r));
    if (reports.some((r) => r.errors.length > 0)) exitCode = EXIT_CODES.input;
  };

  const filterFrom = async (o: {
    author?: string;
    tag?: string;
    since?: string;
    source?: string;
    problems?: boolean;
  }): Promise<DocumentFilter> => {
    let sourceId: number | undefined;
    if (o.source !== undefined) {
      const n = Number(o.source);
      if (Number.isInteger(n)) sourceId = n;
      else {
        const match = (await getApp().store.listSources()).find((s) => s.location.includes(o.source ?? ''));
        if (!match) throw new ShelfError('SOURCE_NOT_FOUND', { id: o.source });
        sourceId = match.id;
      }
    }
    return {
      ...(o.author !== undefined ? { author: o.author } : {}),
      ...(o.tag !== undefined ? { tag: o.tag } : {}),
      ...(o.since !== undefined ? { since: parseSince(o.since, getApp().clock.now()) } : {}),
      ...(sourceId !== undefined ? { sourceId } : {}),
      ...(o.problems ? { problems: true } : {}),
    };
  };

  const kbOption = (): Option => new Option('--kb <name>', 'knowledge base').default(DEFAULT_KB);

  // shelf kb ...
  const kb = program.command('kb').description('manage knowledge bases');
  kb.command('create <name>')
    .description('create a knowledge base')
    .action(async (name: string) => {
      const created = await getApp().store.createKnowledgeBase(checkKbName(name));
      io.stdout.write(`Created knowledge base "${created.name}".\n`);
    });
  kb.command('list')
    .description('list knowledge bases with their sizes')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const kbs = await getApp().store.listKnowledgeBases();
      if (o.json) json(io, kbs);
      else io.stdout.write(formatKnowledgeBases(kbs));
    });
  kb.command('delete <name>')
    .description('delete a knowledge base with all its sources and documents')
    .action(async (name: string) => {
      const k = await requireKb(name);
      await getApp().store.deleteKnowledgeBase(k.id);
      io.stdout.write(`Deleted knowledge base "${k.name}".\n`);
    });
  kb.command('set-primer <name> [primer]')
    .description('set (or, without text, clear) the persona used by generated answers')
    .action(async (name: string, primer: string | undefined) => {
      const k = await requireKb(name);
      await getApp().store.setPrimer(k.id, primer?.trim() ? primer.trim() : null);
      io.stdout.write(primer?.trim() ? `Primer set for "${k.name}".\n` : `Primer cleared for "${k.name}".\n`);
    });

  program
    .command('add <inputs...>')
    .description(
      'add feeds, OPML blogrolls, PDFs, web pages, Markdown, text files or directories (paths or URLs)',
    )
    .addOption(kbOption())
    .option('--tag <tags...>', 'tags for every document of these sources')
    .option('--include <globs...>', 'directories: files to include (default: known document types)')
    .option('--exclude <globs...>', 'directories: files to leave out')
    .option('--json', 'JSON output')
    .action(
      async (
        inputs: string[],
        o: { kb: string; tag?: string[]; include?: string[]; exclude?: string[]; json?: boolean },
      ) => {
        const target = await kbForWriting(o.kb);
        const reports: SyncReport[] = [];
        for (const location of inputs) {
          const progress = progressFor(io, !o.json);
          try {
            reports.push(
              await addSource(ingestContext(progress), {
                kb: target,
                location,
                options: {
                  ...(o.tag ? { tags: o.tag } : {}),
                  ...(o.include ? { include: o.include } : {}),
                  ...(o.exclude ? { exclude: o.exclude } : {}),
                },
              }),
            );
          } catch (e) {
            const err = toShelfError(e);
            if (inputs.length === 1) throw err;
            reports.push({
              sourceId: undefined,
              location,
              kind: undefined,
              added: 0,
              updated: 0,
              unchanged: 0,
              removed: 0,
              notModified: false,
              errors: [{ location, code: err.code, message: err.message }],
              problems: [],
            });
          } finally {
            progress.stop();
          }
        }
        reportOutcome(reports, o.json === true);
      },
    );

  program
    .command('sync')
    .description('refresh sources (feeds with conditional GET, directories re-walked)')
    .addOption(kbOption())
    .option('--source <id>', 'only this source', positiveInt('--source'))
    .option('--json', 'JSON output')
    .action(async (o: { kb: string; source?: number; json?: boolean }) => {
      const progress = progressFor(io, !o.json);
      try {
        if (o.source !== undefined) {
          const s = await getApp().store.getSource(o.source);
          if (!s) throw new ShelfError('SOURCE_NOT_FOUND', { id: o.source });
          reportOutcome([await syncSource(ingestContext(progress), s)], o.json === true);
        } else {
          const k = await requireKb(o.kb);
          reportOutcome(await syncAll(ingestContext(progress), k.id), o.json === true);
        }
      } finally {
        progress.stop();
      }
    });

  program
    .command('sources')
    .description('list sources with their sync state')
    .addOption(kbOption())
    .option('--json', 'JSON output')
    .action(async (o: { kb: string; json?: boolean }) => {
      const k = await requireKb(o.kb);
      const sources = await getApp().store.listSources(k.id);
      if (o.json) json(io, sources);
      else io.stdout.write(formatSources(sources));
    });

  program
    .command('docs')
    .description('list documents, newest first')
    .addOption(kbOption())
    .option('--author <name>', 'author contains')
    .option('--tag <tag>', 'has this tag')
    .option('--since <when>', 'published since a date (2024-03-01) or span (30d, 6m)')
    .option('--source <id-or-text>', 'from this source (id, or text in its location)')
    .option('--problems', 'only documents with pages that could not be indexed, and list those pages')
    .option('--limit <n>', 'how many', positiveInt('--limit'), 50)
    .option('--offset <n>', 'skip this many', positiveInt('--offset'), 0)
    .option('--json', 'JSON output')
    .action(
      async (o: {
        kb: string;
        author?: string;
        tag?: string;
        since?: string;
        source?: string;
        problems?: boolean;
        limit: number;
        offset: number;
        json?: boolean;
      }) => {
        const k = await requireKb(o.kb);
        const page = await getApp().store.listDocuments([k.id], await filterFrom(o), {
          limit: o.limit,
          offset: o.offset,
        });
        if (o.json) json(io, page);
        else if (o.problems) io.stdout.write(formatProblems(page.items));
        else io.stdout.write(formatDocuments(page.items, page.total, o.offset));
      },
    );

  program
    .command('rm <ids...>')
    .description('remove documents by id (or sources, with --source), from every index')
    .option('--source', 'the ids are source ids: remove those sources and all their documents')
    .action(async (ids: string[], o: { source?: boolean }) => {
      const store = getApp().store;
      for (const raw of ids) {
        const id = positiveInt('id')(raw);
        if (o.source) {
          const s = await store.getSource(id);
          if (!s) throw new ShelfError('SOURCE_NOT_FOUND', { id });
          await store.deleteSource(id);
          io.stdout.write(`Removed source ${id} <${s.location}>.\n`);
        } else {
          const d = await store.getDocument(id);
          if (!d) throw new ShelfError('DOCUMENT_NOT_FOUND', { id });
          await store.deleteDocument(id);
          io.stdout.write(`Removed document ${id} "${d.title}".\n`);
        }
      }
    });

  program
    .command('search <query>')
    .description('ranked search with highlighted snippets and citations')
    .addOption(kbOption())
    .option('--author <name>', 'author contains')
    .option('--tag <tag>', 'has this tag')
    .option('--since <when>', 'published since a date (2024-03-01) or span (30d, 6m)')
    .option('--source <id-or-text>', 'from this source')
    .option('--limit <n>', 'how many results', positiveInt('--limit'), 10)
    .option('--all-chunks', 'every matching chunk, not only the best one per document')
    .option('--json', 'JSON output')
    .action(
      async (
        query: string,
        o: {
          kb: string;
          author?: string;
          tag?: string;
          since?: string;
          source?: string;
          limit: number;
          allChunks?: boolean;
          json?: boolean;
        },
      ) => {
        const k = await requireKb(o.kb);
        const result = await search(getApp().store, {
          query,
          kbIds: [k.id],
          filter: await filterFrom(o),
          limit: o.limit,
          ...(o.allChunks ? { allChunks: true } : {}),
        });
        if (o.json) json(io, result);
        else io.stdout.write(formatHits(result.hits, style));
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not failures; commander already printed its message.
      return e.exitCode === 0 ? 0 : EXIT_CODES.usage;
    }
    const err = toShelfError(e);
    io.stderr.write(`shelf: ${err.message}\n  ${err.hint}\n`);
    exitCode = EXIT_CODES[err.kind];
  } finally {
    await app?.close();
  }
  return exitCode;
}
