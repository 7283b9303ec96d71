/**
 * Helpers shared by the PDF tests: a SourceContext with a fetcher that refuses (a PDF
 * parser never fetches), generated PDFs, and pdftotext access for page-exact checks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { ConfigInput } from '../../../core/config.js';
import { configFor } from '../../../core/config.js';
import type { Clock, Progress } from '../../../core/seams.js';
import { NO_PROGRESS, SILENT_LOGGER, SYSTEM_CLOCK } from '../../../core/seams.js';
import type { RawInput, SourceContext } from '../../source.js';

export function testContext(
  opts: { limits?: ConfigInput['limits']; clock?: Clock; progress?: Progress; signal?: AbortSignal } = {},
): SourceContext {
  return {
    fetcher: {
      fetch: () => Promise.reject(new Error('the PDF parser must not fetch anything')),
    },
    config: configFor('/tmp/x', opts.limits === undefined ? {} : { limits: opts.limits }),
    clock: opts.clock ?? SYSTEM_CLOCK,
    logger: SILENT_LOGGER,
    progress: opts.progress ?? NO_PROGRESS,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
}

export function rawInput(location: string, bytes: Uint8Array): RawInput {
  return { location, bytes, contentType: '' };
}

/** A PDF with one page per entry; each entry's lines are drawn top-down in Helvetica 11 pt. */
export async function makePdf(
  pages: readonly (readonly string[])[],
  meta: { title?: string; author?: string } = {},
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  if (meta.title !== undefined) doc.setTitle(meta.title);
  if (meta.author !== undefined) doc.setAuthor(meta.author);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 72, y: 720 - i * 14, size: 11, font }));
  }
  return doc.save();
}

/** True when poppler's pdftotext is on the PATH. */
export function hasPdftotext(): boolean {
  return spawnSync('pdftotext', ['-v']).error === undefined;
}

export const PDFTOTEXT_MISSING =
  'pdftotext (poppler-utils) is required: install it with `apt-get install -y poppler-utils` (CI does this).';

/** The text of one page according to pdftotext, whitespace collapsed, lower-cased. */
export function pdftotextPage(file: string, page: number): string {
  const out = execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-layout', file, '-'], {
    encoding: 'utf8',
  });
  return out.replace(/\s+/g, ' ').toLowerCase();
}

/** A valid w×h grey PNG (PNG spec: signature, IHDR, one IDAT, IEND), built by hand. */
export function tinyPng(width = 8, height = 8): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0; // filter: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PDF written by hand from object bodies (object n is `bodies[n - 1]`, catalog is 1). */
export function handWrittenPdf(bodies: readonly string[]): Uint8Array {
  let out = '%PDF-1.7\n';
  const offsets: number[] = [];
  bodies.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
