/** Small measuring helpers shared by the benchmarks. */
import { percentile } from '../../src/eval/beir.js';

/** Runs a full GC when node was started with --expose-gc (NODE_OPTIONS=--expose-gc). */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/** JavaScript heap plus ArrayBuffer bytes in use, after a GC when available. */
export function heapBytes(): number {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

export const f4 = (x: number | undefined): string => (x === undefined ? '   -  ' : x.toFixed(4));
export const fms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));
export const fmb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

/** Left-aligned first column, right-aligned rest, separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '),
    )
    .join('\n');
}
