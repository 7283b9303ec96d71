/**
 * Decodes the posting list of one term from the comma-separated occurrence codes that
 * SQLite's `group_concat` builds over the fts5vocab 'instance' view: one code per
 * occurrence, `chunk id * FIELD_COUNT + field index`. The view yields them in index order
 * (chunk id, then column); should they ever come out of order, they are sorted first.
 */
import { FIELD_COUNT, type PostingList } from '../store.js';

const COMMA = 44;
const ZERO = 48;

/** Parses the codes into a Float64Array (ids stay exact far beyond 2^32 codes). */
function parseCodes(encoded: string): Float64Array {
  let count = encoded.length === 0 ? 0 : 1;
  for (let i = 0; i < encoded.length; i++) if (encoded.charCodeAt(i) === COMMA) count++;
  const codes = new Float64Array(count);
  let k = 0;
  let value = 0;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === COMMA) {
      codes[k++] = value;
      value = 0;
    } else {
      const digit = c - ZERO;
      if (digit < 0 || digit > 9) throw new Error(`occurrence list holds ${JSON.stringify(encoded[i])}`);
      value = value * 10 + digit;
    }
  }
  if (count > 0) codes[k] = value;
  return codes;
}

export function decodeOccurrences(encoded: string): PostingList {
  const codes = parseCodes(encoded);
  let sorted = true;
  for (let i = 1; i < codes.length; i++)
    if ((codes[i] ?? 0) < (codes[i - 1] ?? 0)) {
      sorted = false;
      break;
    }
  if (!sorted) codes.sort();
  let chunks = 0;
  let last = -1;
  for (const code of codes) {
    const id = Math.floor(code / FIELD_COUNT);
    if (id !== last) {
      chunks++;
      last = id;
    }
  }
  const chunkIds = new Uint32Array(chunks);
  const fieldTf = new Uint16Array(chunks * FIELD_COUNT);
  let k = -1;
  last = -1;
  for (const code of codes) {
    const id = Math.floor(code / FIELD_COUNT);
    if (id !== last) {
      k++;
      chunkIds[k] = id;
      last = id;
    }
    const at = k * FIELD_COUNT + (code % FIELD_COUNT);
    fieldTf[at] = Math.min(0xffff, (fieldTf[at] ?? 0) + 1);
  }
  return { chunkIds, fieldTf };
}
