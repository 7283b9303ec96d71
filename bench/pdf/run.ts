/**
 * PDF ingestion benchmark: pages/s and peak RSS of `parsePdf` beside poppler's `pdftotext`
 * on the same files, in the same run, printed as ratios.
 *
 *   npx tsx bench/pdf/run.ts [--runs N]
 *
 * Each measurement runs in its own child process (so peak RSS is that file's alone): for
 * shelf, `bench/pdf/child.ts` compiled to plain JavaScript and read from
 * `process.resourceUsage().maxRSS`; for pdftotext, GNU `/usr/bin/time -f %M`. Times include
 * opening the document but not starting Node. Each file is measured `--runs` times (default
 * 3), shelf and pdftotext back to back, and the table shows medians: the ratio is the median
 * of the per-run ratios, so one noisy run on a shared machine does not decide it. CPU
 * seconds (user + system) are printed beside wall time because they depend less on what else
 * the machine is running. Files: the two shared
 * books and a generated 1,000-page PDF. Installs poppler-utils with apt-get when pdftotext
 * is missing. Targets: peak RSS under 300 MB on the 1,000-page PDF, pages/s within 5x of
 * pdftotext. Each run also measures pdf.js alone (`child.js FILE library`: open, then
 * getPage + getTextContent for every page), the ceiling for anything built on pdf.js.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const DATA = join(ROOT, 'bench', '.data');

interface Measure {
  readonly pages: number;
  readonly ms: number;
  /** User + system CPU time of the process, in ms. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function runsArg(): number {
  const i = process.argv.indexOf('--runs');
  const n = i < 0 ? 3 : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error('--runs takes a whole number ≥ 1');
  return n;
}

function ensurePdftotext(): void {
  if (spawnSync('pdftotext', ['-v']).error === undefined) return;
  console.log('pdftotext is missing: installing poppler-utils with apt-get …');
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', 'poppler-utils'], { stdio: 'inherit' });
}

function pageCount(file: string): number {
  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  return Number(/^Pages:\s+(\d+)/m.exec(info)?.[1] ?? 0);
}

/** pdftotext on the whole file, timed; CPU seconds and peak RSS (KB) from GNU time. */
function measurePdftotext(file: string): Measure {
  const start = performance.now();
  const res = spawnSync('/usr/bin/time', ['-f', '%U %S %M', 'pdftotext', '-layout', file, '/dev/null'], {
    encoding: 'utf8',
  });
  const ms = performance.now() - start;
  if (res.status !== 0) throw new Error(`pdftotext failed on ${file}: ${res.stderr}`);
  const [user = 0, system = 0, kb = 0] = (res.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { pages: pageCount(file), ms, cpuMs: (user + system) * 1000, maxRssMb: kb / 1024 };
}

/**
 * Compiles bench/pdf/child.ts and what it imports to plain JavaScript under bench/.data, so
 * the measured process is plain Node (a TypeScript loader would add ~170 MB of its own).
 */
function compileChild(): string {
  const out = join(DATA, 'build');
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--outDir',
      out,
      '--rootDir',
      ROOT,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2023',
      '--skipLibCheck',
      '--strict',
      join(HERE, 'child.ts'),
    ],
    { stdio: 'inherit' },
  );
  return join(out, 'bench', 'pdf', 'child.js');
}

function measureShelf(child: string, file: string, mode: 'shelf' | 'library' = 'shelf'): Measure {
  const res = spawnSync(process.execPath, [child, file, mode], {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 1 << 20,
  });
  if (res.status !== 0) throw new Error(`shelf failed on ${file}: ${res.stderr}`);
  return JSON.parse(res.stdout) as Measure;
}

async function generated(pages: number): Promise<string> {
  const file = join(DATA, `generated-${pages}.pdf`);
  if (existsSync(file)) return file;
  mkdirSync(DATA, { recursive: true });
  const { makePdf } = await import('../../src/sources/pdf/test-support/helpers.js');
  const word = (n: number): string =>
    n.toString(26).replace(/./g, (d) => String.fromCharCode(97 + parseInt(d, 26)));
  const content = Array.from({ length: pages }, (_, i) =>
    Array.from(
      { length: 40 },
      (_, l) => `Line ${l} of page ${i + 1}: the ${word(i * 40 + l)} method keeps its state.`,
    ),
  );
  writeFileSync(file, await makePdf(content, { title: 'Generated benchmark book' }));
  return file;
}

async function main(): Promise<void> {
  ensurePdftotext();
  const files: string[] = [
    join(ROOT, '..', 'shared', 'corpus', 'books', 'little-book-about-os-development.pdf'),
    join(ROOT, '..', 'shared', 'corpus', 'books', 'PO.Applications.pdf'),
  ].filter((f) => existsSync(f));
  files.push(await generated(1000));
  const child = compileChild();

  const runs = runsArg();

  console.log(
    [
      'file',
      'pages',
      'shelf p/s',
      'pdftotext p/s',
      'speed ratio',
      'ratios',
      'shelf CPU s',
      'pdftotext CPU s',
      'shelf RSS MB',
      'pdftotext RSS MB',
      'pdf.js alone p/s',
      'pdf.js alone ratio',
      'ratios',
      'pdf.js alone CPU s',
    ].join('\t'),
  );
  for (const file of files) {
    const pairs: { shelf: Measure; poppler: Measure; library: Measure }[] = [];
    for (let r = 0; r < runs; r++)
      pairs.push({
        poppler: measurePdftotext(file),
        shelf: measureShelf(child, file),
        library: measureShelf(child, file, 'library'),
      });
    const rate = (m: Measure): number => m.pages / (m.ms / 1000);
    const ratios = pairs.map((p) => rate(p.shelf) / rate(p.poppler));
    const libraryRatios = pairs.map((p) => rate(p.library) / rate(p.poppler));
    const pages = pairs[0]?.shelf.pages ?? 0;
    console.log(
      [
        file.split('/').pop(),
        pages,
        median(pairs.map((p) => rate(p.shelf))).toFixed(0),
        median(pairs.map((p) => rate(p.poppler))).toFixed(0),
        median(ratios).toFixed(2),
        ratios.map((r) => r.toFixed(2)).join(' '),
        (median(pairs.map((p) => p.shelf.cpuMs)) / 1000).toFixed(2),
        (median(pairs.map((p) => p.poppler.cpuMs)) / 1000).toFixed(2),
        Math.max(...pairs.map((p) => p.shelf.maxRssMb)).toFixed(0),
        Math.max(...pairs.map((p) => p.poppler.maxRssMb)).toFixed(0),
        median(pairs.map((p) => rate(p.library))).toFixed(0),
        median(libraryRatios).toFixed(2),
        libraryRatios.map((r) => r.toFixed(2)).join(' '),
        (median(pairs.map((p) => p.library.cpuMs)) / 1000).toFixed(2),
      ].join('\t'),
    );
  }
  console.log(
    `medians of ${runs} runs; speed ratio = shelf pages/s ÷ pdftotext pages/s, the median of the ` +
      'per-run ratios (1.00 = as fast; target ≥ 0.20); RSS is the largest of the runs; "pdf.js alone" ' +
      'is getPage + getTextContent over every page and nothing else, the ceiling for any pdf.js-based parser',
  );
}

await main();
