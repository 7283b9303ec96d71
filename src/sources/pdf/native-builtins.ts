/**
 * Keeps pdf.js from slowing down the rest of the process.
 *
 * pdf.js's legacy build (the one that runs on Node 20) bundles core-js, and core-js
 * replaces built-ins process-wide where Node 20's V8 falls short of the newest spec:
 *
 * - `Array.prototype.push`, with a JavaScript polyfill, because pushing onto an array
 *   whose `length` is read-only fails to throw
 *   (https://bugs.chromium.org/p/v8/issues/detail?id=12681). pdf.js pushes once or more
 *   per glyph; the polyfill cost about 20% of `parsePdf`'s CPU time (bench/pdf/README.md).
 * - `JSON.stringify`, with a wrapper that calls a replacer function for every key, because
 *   `JSON.rawJSON` is missing: about 5x slower, on every store write (heading paths),
 *   content hash and API response once any module has imported pdf.js.
 * - `JSON.parse` (for the reviver's source-text argument) and `Function.prototype.toString`.
 *
 * index.ts imports this module before pdf.js, so `NATIVE` holds V8's own functions, and
 * calls `restoreNativeBuiltins` after each pdf.js module has loaded. They differ from the
 * polyfills only in what neither pdf.js nor shelf uses (read-only array lengths,
 * `JSON.rawJSON`, a reviver's third argument). Methods core-js only adds (`Set.prototype.union`
 * and the like) stay: nothing had them before. Should pdf.js have been loaded first
 * anyway, `NATIVE` holds the polyfills and restoring them changes nothing.
 */
const NATIVE = (
  [
    [Array.prototype, 'push'],
    [JSON, 'stringify'],
    [JSON, 'parse'],
    [Function.prototype, 'toString'],
  ] as const
).map(([target, key]) => [target, key, Reflect.get(target, key) as unknown] as const);

/** Puts V8's own built-ins back where a module replaced them since this one loaded. */
export function restoreNativeBuiltins(): void {
  for (const [target, key, native] of NATIVE) {
    if (Reflect.get(target, key) === native) continue;
    Object.defineProperty(target, key, {
      value: native,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}
