/**
 * One benchmark measurement, run by bench/pdf/run.ts in its own process (compiled to plain
 * JavaScript first, so no TypeScript loader sits in the measured memory): parses the PDF
 * named in argv[2] and prints `{ pages, ms, cpuMs, maxRssMb }` as JSON. `cpuMs` is the
 * process's user + system CPU time during the parse, all threads included.
 *
 * With `library` as argv[3] it measures pdf.js alone instead of `parsePdf`: the least any
 * pdf.js-based extractor does (open the document, then `getPage` and `getTextContent` for
 * every page, with shelf's options and its built-ins fix), which bounds how fast `parsePdf`
 * can be.
 */
import { readFileSync } from 'node:fs';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { configFor } from '../../src/core/config.js';
import { NO_PROGRESS, SILENT_LOGGER, SYSTEM_CLOCK } from '../../src/core/seams.js';
import { parsePdf, PDFJS_OPTIONS } from '../../src/sources/pdf/index.js';
import { restoreNativeBuiltins } from '../../src/sources/pdf/native-builtins.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: child.js FILE.pdf [library]');
const bytes = readFileSync(file);

async function shelf(): Promise<number> {
  const doc = await parsePdf(
    { location: file ?? '', bytes, contentType: '' },
    {
      fetcher: { fetch: () => Promise.reject(new Error('no fetching in the benchmark')) },
      config: configFor('/tmp/shelf-bench'),
      clock: SYSTEM_CLOCK,
      logger: SILENT_LOGGER,
      progress: NO_PROGRESS,
    },
  );
  return doc.pageCount ?? 0;
}

const PDFJS_WORKER: string = 'pdfjs-dist/legacy/build/pdf.worker.mjs';

async function library(): Promise<number> {
  await import(PDFJS_WORKER);
  restoreNativeBuiltins();
  const doc = await getDocument({ data: new Uint8Array(bytes), ...PDFJS_OPTIONS }).promise;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    await page.getTextContent();
    page.cleanup();
  }
  const pages = doc.numPages;
  await doc.destroy();
  return pages;
}

const start = performance.now();
const cpuStart = process.cpuUsage();
const pages = process.argv[3] === 'library' ? await library() : await shelf();
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(
  JSON.stringify({
    pages,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
