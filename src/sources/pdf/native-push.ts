/**
 * Keeps pdf.js from slowing down every array in the process.
 *
 * pdf.js's legacy build (the one that runs on Node 20) bundles core-js, and core-js
 * replaces `Array.prototype.push` with a JavaScript polyfill whenever pushing onto an array
 * whose `length` is read-only fails to throw, which Node 20's V8 gets wrong
 * (https://bugs.chromium.org/p/v8/issues/detail?id=12681). So loading pdf.js, and loading
 * its worker module again, swaps the process-wide `push` for the polyfill. pdf.js pushes
 * once or more per glyph; the polyfill cost about 20% of `parsePdf`'s CPU time
 * (bench/pdf/README.md), and it slows every other `push` in shelf as well.
 *
 * index.ts imports this module before pdf.js, so `NATIVE_PUSH` is V8's own function, and
 * calls `restoreNativePush` after each pdf.js module has loaded. The two differ only on an
 * array whose length has been made read-only, which neither pdf.js nor shelf creates.
 * Should pdf.js have been loaded first anyway, `NATIVE_PUSH` is the polyfill and restoring
 * it changes nothing.
 */
const NATIVE_PUSH = Array.prototype.push;

/** Puts V8's `Array.prototype.push` back if a module replaced it since this one loaded. */
export function restoreNativePush(): void {
  if (Array.prototype.push === NATIVE_PUSH) return;
  Object.defineProperty(Array.prototype, 'push', {
    value: NATIVE_PUSH,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
