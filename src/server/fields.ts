/**
 * Partial responses: `fields=title,author,document.url` keeps only those members (dotted
 * names reach into nested objects). Lists apply it to each item; the envelope (`total`,
 * `limit`, `offset`) always stays.
 */
import { ShelfError } from '../core/errors.js';

const FIELD = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;
const MAX_FIELDS = 50;

/** Parses a `fields` parameter into paths; undefined means everything. */
export function parseFields(raw: string | undefined): string[][] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.split(',').map((f) => f.trim());
  if (names.length > MAX_FIELDS)
    throw new ShelfError('BODY_INVALID', { detail: `fields: at most ${MAX_FIELDS} names` });
  for (const n of names)
    if (!FIELD.test(n))
      throw new ShelfError('BODY_INVALID', {
        detail: `fields: "${n.slice(0, 40)}" is not a field name (use names like title or document.url)`,
      });
  return names.map((n) => n.split('.'));
}

function pickPath(source: unknown, path: readonly string[], target: Record<string, unknown>): void {
  const [head, ...rest] = path;
  if (head === undefined || typeof source !== 'object' || source === null || Array.isArray(source)) return;
  if (!Object.hasOwn(source, head)) return;
  const value = (source as Record<string, unknown>)[head];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  if (Array.isArray(value)) {
    // `chunks.text` on a list keeps `text` of each element.
    const prev = target[head];
    const list = Array.isArray(prev) ? (prev as Record<string, unknown>[]) : value.map(() => ({}));
    value.forEach((v, i) => pickPath(v, rest, list[i] ?? {}));
    target[head] = list;
    return;
  }
  const prev = target[head];
  const nested = typeof prev === 'object' && prev !== null ? (prev as Record<string, unknown>) : {};
  pickPath(value, rest, nested);
  target[head] = nested;
}

/** Keeps only the given paths of `value`. */
export function pickFields<T>(
  value: T,
  fields: readonly (readonly string[])[] | undefined,
): T | Record<string, unknown> {
  if (!fields) return value;
  const out: Record<string, unknown> = {};
  for (const path of fields) pickPath(value, path, out);
  return out;
}
