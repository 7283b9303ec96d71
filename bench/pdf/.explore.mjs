import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { readFileSync } from 'node:fs';
const [file, ...pages] = process.argv.slice(2);
const data = new Uint8Array(readFileSync(file));
const doc = await getDocument({ data, verbosity: VerbosityLevel.ERRORS }).promise;
console.log('pages', doc.numPages);
const md = await doc.getMetadata();
console.log(JSON.stringify(md.info), md.metadata?.getAll?.());
console.log('labels', JSON.stringify(await doc.getPageLabels())?.slice(0,300));
const outline = await doc.getOutline();
const show=(o,d)=>{for(const x of o??[]){console.log(' '.repeat(d*2)+x.title, JSON.stringify(x.dest)?.slice(0,80)); show(x.items,d+1);}}
show(outline?.slice(0,4),0);
for (const p of pages) {
  const page = await doc.getPage(+p);
  const tc = await page.getTextContent();
  console.log('--- page', p, JSON.stringify(tc.styles));
  for (const it of tc.items) console.log(JSON.stringify({s:it.str, f:it.fontName, t:it.transform.map(x=>+x.toFixed(1)), w:+it.width?.toFixed(1), eol:it.hasEOL}));
}
