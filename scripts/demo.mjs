#!/usr/bin/env node
// The README's first command: ingest the sample corpus (a feed written for shelf and the
// project's own docs) into a fresh knowledge base under .shelf-demo/, then search and ask it.
// Offline: nothing here touches the network.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const home = join(root, '.shelf-demo');
const cli = join(root, 'dist', 'cli', 'shelf.js');
rmSync(home, { recursive: true, force: true });

function shelf(...args) {
  process.stdout.write(`\n$ shelf ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, '--home', home, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

shelf(
  'add',
  join(root, 'examples', 'sample', 'field-notes.xml'),
  join(root, 'README.md'),
  join(root, 'ARCHITECTURE.md'),
);
shelf('search', 'why does a restarted server fail to bind its port');
shelf('search', 'BufReader lines', '--limit', '2');
shelf('search', 'how are chunks stored and indexed', '--limit', '2');
shelf('ask', 'How do I turn on paging?');
shelf('ask', 'Why does a TCP connection stay in TIME_WAIT?', '--trace');
process.stdout.write(
  `\nThe demo knowledge base is in ${home}; try: node dist/cli/shelf.js --home .shelf-demo search "CR3"\n`,
);
