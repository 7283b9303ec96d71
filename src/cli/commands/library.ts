/** Commands that manage the shelf: kb, add, sync, sources, docs, rm. */
import type { Command } from 'commander';
import { EXIT_CODES, ShelfError, toShelfError } from '../../core/errors.js';
import type { SyncReport } from '../../ingest/ingest.js';
import { deleteKnowledgeBase, deleteSource, uploadsDir } from '../../ingest/uploads.js';
import { kbOption, wholeNumber, withFilters, type CliContext } from '../context.js';
import {
  formatDocuments,
  formatKnowledgeBases,
  formatProblems,
  formatReport,
  formatSources,
} from '../format.js';

function failedReport(location: string, e: unknown): SyncReport {
  const err = toShelfError(e);
  return {
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
  };
}

export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const reportOutcome = (reports: readonly SyncReport[], asJson: boolean): void => {
    if (asJson) ctx.json(reports);
    else for (const r of reports) io.stdout.write(formatReport(r));
    if (reports.some((r) => r.errors.length > 0)) ctx.fail(EXIT_CODES.input);
  };

  const kb = program.command('kb').description('manage knowledge bases');
  kb.command('create <name>')
    .description('create a knowledge base')
    .action(async (name: string) => {
      const created = await ctx.app().store.createKnowledgeBase(ctx.checkKbName(name));
      io.stdout.write(`Created knowledge base "${created.name}".\n`);
    });
  kb.command('list')
    .description('list knowledge bases with their sizes')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const kbs = await ctx.app().store.listKnowledgeBases();
      if (o.json) ctx.json(kbs);
      else io.stdout.write(formatKnowledgeBases(kbs));
    });
  kb.command('delete <name>')
    .description('delete a knowledge base with all its sources and documents')
    .action(async (name: string) => {
      const k = await ctx.requireKb(name);
      const { store, config } = ctx.app();
      await deleteKnowledgeBase(store, uploadsDir(config.home), k.id);
      io.stdout.write(`Deleted knowledge base "${k.name}".\n`);
    });
  kb.command('set-primer <name> [primer]')
    .description('set (or, without text, clear) the persona used by generated answers')
    .action(async (name: string, primer: string | undefined) => {
      const k = await ctx.requireKb(name);
      const text = primer?.trim() ?? '';
      await ctx.app().store.setPrimer(k.id, text === '' ? null : text);
      io.stdout.write(text === '' ? `Primer cleared for "${k.name}".\n` : `Primer set for "${k.name}".\n`);
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
        const target = await ctx.kbForWriting(o.kb);
        const reports: SyncReport[] = [];
        for (const location of inputs) {
          const progress = ctx.progress(!o.json);
          try {
            const { addSource } = await import('../../ingest/ingest.js');
            reports.push(
              await addSource(ctx.ingestContext(progress), {
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
            // One input: its error is the command's error. Several: report each, go on.
            if (inputs.length === 1) throw e;
            reports.push(failedReport(location, e));
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
    .option('--source <id>', 'only this source', wholeNumber('--source', Number.MAX_SAFE_INTEGER))
    .option('--json', 'JSON output')
    .action(async (o: { kb: string; source?: number; json?: boolean }) => {
      const progress = ctx.progress(!o.json);
      try {
        // Loaded when the command runs, so other commands do not pay for it at start-up.
        const { syncAll, syncSource } = await import('../../ingest/ingest.js');
        if (o.source !== undefined) {
          const s = await ctx.app().store.getSource(o.source);
          if (!s) throw new ShelfError('SOURCE_NOT_FOUND', { id: o.source });
          reportOutcome([await syncSource(ctx.ingestContext(progress), s)], o.json === true);
        } else {
          const k = await ctx.requireKb(o.kb);
          reportOutcome(await syncAll(ctx.ingestContext(progress), k.id), o.json === true);
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
      const k = await ctx.requireKb(o.kb);
      const sources = await ctx.app().store.listSources(k.id);
      if (o.json) ctx.json(sources);
      else io.stdout.write(formatSources(sources));
    });

  withFilters(program.command('docs').description('list documents, newest first').addOption(kbOption()))
    .option('--problems', 'only documents with pages that could not be indexed, and list those pages')
    .option('--limit <n>', 'how many', wholeNumber('--limit'), 50)
    .option('--offset <n>', 'skip this many', wholeNumber('--offset'), 0)
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
        const k = await ctx.requireKb(o.kb);
        const page = await ctx
          .app()
          .store.listDocuments([k.id], await ctx.filterFrom(o), { limit: o.limit, offset: o.offset });
        if (o.json) ctx.json(page);
        else if (o.problems) io.stdout.write(formatProblems(page.items));
        else io.stdout.write(formatDocuments(page.items, page.total, o.offset));
      },
    );

  program
    .command('rm <ids...>')
    .description('remove documents by id (or sources, with --source), from every index')
    .option('--source', 'the ids are source ids: remove those sources and all their documents')
    .action(async (ids: string[], o: { source?: boolean }) => {
      const store = ctx.app().store;
      for (const raw of ids) {
        const id = wholeNumber('id', Number.MAX_SAFE_INTEGER)(raw);
        if (o.source) {
          const s = await store.getSource(id);
          if (!s) throw new ShelfError('SOURCE_NOT_FOUND', { id });
          await deleteSource(store, uploadsDir(ctx.app().config.home), s);
          io.stdout.write(`Removed source ${id} <${s.location}>.\n`);
        } else {
          const d = await store.getDocument(id);
          if (!d) throw new ShelfError('DOCUMENT_NOT_FOUND', { id });
          await store.deleteDocument(id);
          io.stdout.write(`Removed document ${id} "${d.title}".\n`);
        }
      }
    });
}
