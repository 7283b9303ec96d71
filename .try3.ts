import { readFileSync } from 'node:fs';
import { parseFeed } from 'feedsmith';
import { htmlToBlocks } from './src/sources/html-blocks.js';
const x = readFileSync('/work/shared/corpus/feeds/forem-douglasmakey.xml','utf8');
const r = parseFeed(x);
if (r.format === 'rss') { const b = htmlToBlocks(r.feed.items![0]!.description!); console.log(JSON.stringify(b.slice(0,40),null,1)); }
