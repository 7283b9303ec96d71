/**
 * Date inputs people type: ISO dates ("2024-03-01"), relative spans ("30d", "2w",
 * "6m", "1y") for --since. Returns ISO 8601 strings (UTC).
 */
import { ShelfError } from './errors.js';

const SPAN = /^(\d+)\s*(d|day|days|w|week|weeks|m|month|months|y|year|years)$/i;

/** Resolves a --since value against `now`; throws INVALID_OPTION with the accepted forms. */
export function parseSince(value: string, now: Date, option = '--since'): string {
  const v = value.trim();
  const span = SPAN.exec(v);
  if (span) {
    const n = Number(span[1]);
    const unit = (span[2] ?? 'd').toLowerCase()[0];
    const d = new Date(now.getTime());
    if (unit === 'd') d.setUTCDate(d.getUTCDate() - n);
    else if (unit === 'w') d.setUTCDate(d.getUTCDate() - 7 * n);
    else if (unit === 'm') d.setUTCMonth(d.getUTCMonth() - n);
    else d.setUTCFullYear(d.getUTCFullYear() - n);
    return d.toISOString();
  }
  if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(v)) {
    const [y, m = '01', day = '01'] = v.split('-');
    const d = new Date(`${y}-${m}-${day}T00:00:00.000Z`);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  const parsed = /^\d{4}-\d{2}-\d{2}T/.test(v) ? new Date(v) : undefined;
  if (parsed && !Number.isNaN(parsed.getTime())) return parsed.toISOString();
  throw new ShelfError('INVALID_OPTION', {
    option,
    value,
    expected: 'Use a date (2024, 2024-03, 2024-03-01) or a span back from today (30d, 2w, 6m, 1y).',
  });
}
