import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { readFileSync } from 'node:fs';
const [file, mode] = process.argv.slice(2);
const t0 = performance.now();
const doc = await getDocument({ data: new Uint8Array(readFileSync(file)), verbosity: VerbosityLevel.ERRORS, fontExtraProperties: true }).promise;
const names = new Map();
for (let i = 1; i <= doc.numPages; i++) {
  const page = await doc.getPage(i);
  const tc = await page.getTextContent();
  if (mode === 'ops') { await page.getOperatorList(); for (const f of Object.keys(tc.styles)) if (page.commonObjs.has(f)) { const o = page.commonObjs.get(f); names.set(o.name, [o.isMonospace, o.bold, o.black, tc.styles[f].fontFamily]); } }
  page.cleanup();
}
console.log(mode, (performance.now() - t0).toFixed(0), 'ms', [...names].slice(0, 12));
await doc.destroy();
