import { readFileSync } from 'node:fs';
import { parseFeed } from './src/sources/feed.js';
import { configFor } from './src/core/config.js';
import { SYSTEM_CLOCK, SILENT_LOGGER, NO_PROGRESS } from './src/core/seams.js';
const ctx = { config: configFor('/tmp/x'), clock: SYSTEM_CLOCK, logger: SILENT_LOGGER, progress: NO_PROGRESS, fetcher: { fetch: () => { throw new Error('no'); } } };
for (const f of ['devto-narasimha1997','devto-nicolasmesa','forem-douglasmakey']) {
  const bytes = readFileSync(`/work/shared/corpus/feeds/${f}.xml`);
  const r = await parseFeed({ location: `https://dev.to/feed/${f}`, bytes, contentType: 'application/rss+xml' }, ctx);
  console.log(r.format, r.title, r.siteUrl, r.items.length, JSON.stringify(r.crossPosts));
  for (const i of r.items) console.log(' ', i.key.slice(-30), '|', i.title.slice(0,50), '|', i.author, i.published, i.tags.join(','), i.blocks.length);
}
