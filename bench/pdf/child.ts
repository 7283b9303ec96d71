/**
 * One benchmark measurement, run by bench/pdf/run.ts in its own process (compiled to plain
 * JavaScript first, so no TypeScript loader sits in the measured memory): parses the PDF
 * named in argv[2] and prints `{ pages, ms, cpuMs, maxRssMb }` as JSON. `cpuMs` is the
 * process's user + system CPU time during the parse, all threads included.
 */
import { readFileSync } from 'node:fs';
import { configFor } from '../../src/core/config.js';
import { NO_PROGRESS, SILENT_LOGGER, SYSTEM_CLOCK } from '../../src/core/seams.js';
import { parsePdf } from '../../src/sources/pdf/index.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: child.js FILE.pdf');
const bytes = readFileSync(file);
const start = performance.now();
const cpuStart = process.cpuUsage();
const doc = await parsePdf(
  { location: file, bytes, contentType: '' },
  {
    fetcher: { fetch: () => Promise.reject(new Error('no fetching in the benchmark')) },
    config: configFor('/tmp/shelf-bench'),
    clock: SYSTEM_CLOCK,
    logger: SILENT_LOGGER,
    progress: NO_PROGRESS,
  },
);
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(
  JSON.stringify({
    pages: doc.pageCount ?? 0,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
