/**
 * The trace of one `ask`: a record per stage (`init`, `route`, `primer`, `retrieve`,
 * `assemble`, `answer`) with its elapsed milliseconds, a one-line summary of what it decided
 * and structured detail. `formatTrace` prints it as a compact readable log: decoded names,
 * real page numbers, the context that was sent, the sources.
 */
import type { Citation } from './types.js';

export const STAGES = ['init', 'route', 'primer', 'retrieve', 'assemble', 'answer'] as const;
export type StageName = (typeof STAGES)[number];

export interface TraceStage {
  readonly name: StageName;
  readonly ms: number;
  readonly summary: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Trace {
  readonly stages: readonly TraceStage[];
  readonly totalMs: number;
}

/** Collects stages; each `end` closes the stage begun by the previous call. */
export function createTracer(now: () => number = () => performance.now()): {
  stage(name: StageName, summary: string, detail?: Record<string, unknown>): void;
  finish(): Trace;
} {
  const started = now();
  let last = started;
  const stages: TraceStage[] = [];
  return {
    stage(name, summary, detail = {}) {
      const t = now();
      stages.push({ name, ms: round(t - last), summary, detail });
      last = t;
    },
    finish() {
      return { stages, totalMs: round(now() - started) };
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** A file: URL or a percent-encoded URL shown the way a person reads it. */
export function displayUrl(url: string): string {
  try {
    if (url.startsWith('file://')) {
      const u = new URL(url);
      return decodeURIComponent(u.pathname) + (u.hash ? decodeURIComponent(u.hash) : '');
    }
    return decodeURI(url);
  } catch {
    return url;
  }
}

export interface TraceView {
  readonly question: string;
  readonly kb: string;
  readonly trace: Trace;
  readonly answer: string;
  readonly citations: readonly Citation[];
}

/** The readable log printed by `shelf ask --trace`. */
export function formatTrace(view: TraceView): string {
  const lines: string[] = [];
  const rule = '─'.repeat(60);
  for (const s of view.trace.stages) {
    lines.push(`${s.name.toUpperCase().padEnd(9)} ${`${s.ms.toFixed(1)} ms`.padStart(10)}  ${s.summary}`);
    const extra = s.detail['lines'];
    if (Array.isArray(extra)) for (const l of extra) lines.push(`    ${String(l)}`);
  }
  lines.push(rule);
  lines.push('ANSWER');
  lines.push(view.answer);
  lines.push(rule);
  lines.push('SOURCES');
  if (view.citations.length === 0) lines.push('    (none)');
  for (const c of view.citations)
    lines.push(`    [${c.n}] ${c.label}${c.url ? ` <${displayUrl(c.url)}>` : ''}`);
  lines.push(rule);
  lines.push(`TOTAL ${view.trace.totalMs.toFixed(1)} ms`);
  return lines.join('\n') + '\n';
}
