// Builds the web UI into web/dist, which `shelf serve` serves at /. Everything the UI needs
// is bundled or copied here (pdf.js worker, fonts, WebAssembly decoders, CMaps): the built
// app makes no outside request and works offline.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const PDFJS = dirname(require.resolve('pdfjs-dist/package.json'));

/** Copies pdf.js's data folders to dist/pdfjs/<folder>/ (fetched at run time by the worker). */
function pdfjsData(): Plugin {
  return {
    name: 'shelf-pdfjs-data',
    apply: 'build',
    generateBundle() {
      for (const folder of ['standard_fonts', 'wasm', 'cmaps'])
        for (const name of readdirSync(join(PDFJS, folder)))
          this.emitFile({
            type: 'asset',
            fileName: `pdfjs/${folder}/${name}`,
            source: readFileSync(join(PDFJS, folder, name)),
          });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  plugins: [pdfjsData()],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8765' } },
});
