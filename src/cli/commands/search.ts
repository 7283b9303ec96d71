/** `shelf search`: ranked results with highlighted snippets and citations. */
import type { Command } from 'commander';
import { search } from '../../search/search.js';
import { kbOption, wholeNumber, withFilters, type CliContext, type FilterOptions } from '../context.js';
import { formatHits } from '../format.js';

export function register(program: Command, ctx: CliContext): void {
  withFilters(
    program
      .command('search <query>')
      .description('ranked search with highlighted snippets and citations')
      .addOption(kbOption()),
  )
    .option('--limit <n>', 'how many results', wholeNumber('--limit', 1000), 10)
    .option('--all-chunks', 'every matching chunk, not only the best one per document')
    .option('--json', 'JSON output')
    .action(
      async (
        query: string,
        o: FilterOptions & { kb: string; limit: number; allChunks?: boolean; json?: boolean },
      ) => {
        const k = await ctx.requireKb(o.kb);
        const result = await search(ctx.app().store, {
          query,
          kbIds: [k.id],
          filter: await ctx.filterFrom(o),
          limit: o.limit,
          ...(o.allChunks ? { allChunks: true } : {}),
        });
        if (o.json) ctx.json(result);
        else ctx.io.stdout.write(formatHits(result.hits, ctx.style));
      },
    );
}
