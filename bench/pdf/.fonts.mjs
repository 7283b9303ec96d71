import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { readFileSync } from 'node:fs';
const [file, p] = process.argv.slice(2);
const doc = await getDocument({ data: new Uint8Array(readFileSync(file)), verbosity: VerbosityLevel.ERRORS }).promise;
const page = await doc.getPage(+p);
const tc = await page.getTextContent();
for (const f of Object.keys(tc.styles)) { console.log(f, page.commonObjs.has(f)); if (page.commonObjs.has(f)) { const o = page.commonObjs.get(f); console.log(o.name, o.loadedName, o.fallbackName, o.isMonospace, o.bold, o.black, o.italic, o.systemFontInfo); } }
