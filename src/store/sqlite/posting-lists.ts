/**
 * Compact posting lists: one row per term in `posting_lists`, written in bulk by
 * Store.compactPostings, so a ranker reads a term's list as two blobs instead of one row per
 * occurrence from the fts5vocab 'instance' view (about 1 µs per occurrence; a common term at
 * 1M chunks holds 100k–500k chunks).
 *
 * Format 1, little-endian:
 *   ids  chunk ids, ascending, 4 bytes each (uint32)
 *   tf   per-field counts, FIELD_COUNT per posting in INDEX_FIELDS order: 1 byte each when
 *        every count of the term is below 255, else 2 bytes each (uint16, capped at 65535 as
 *        in PostingList); the length tells which.
 *   impacts  optional: a ranker's value per posting (float32), valid for the state's
 *        `impact_key` (Store.compactPostings with StoredImpacts).
 *   summary  optional, with impacts only: the ranker's numbers about the list (float64).
 *
 * The full-text index stays the source of truth. `posting_lists_state` says which chunks
 * the lists cover: every chunk with id ≤ `covered` that existed when they were written
 * (`chunks` of them). They are exact for the current index when no chunk with a higher id
 * exists and no chunk id ≤ `covered` was written since: SQLite reuses ids only above the
 * highest one left, so a trigger deletes the state row when a deletion leaves every id
 * below `covered`; deleted chunks are dropped as lists are read. Otherwise the store reads
 * the full-text index, as without compact lists.
 *
 * The state row also keeps the chunk table of the covered chunks (Store.chunkTable), read
 * whole at a ranker's first query: `chunk_table`, little-endian uint32s, for ids 0 ..
 * covered: every id's document, then every id's knowledge base, then FIELD_COUNT field
 * lengths per id (0 for an id with no chunk). Exact under the same conditions as the
 * lists, with deleted chunks cleared as it is read.
 */
import { FIELD_COUNT, type ChunkTable, type PostingList } from '../store.js';

/** The format this code writes and reads. */
export const POSTING_FORMAT = 1;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Whether this machine reads and writes the format natively (every supported CPU does). */
export const COMPACT_SUPPORTED = LITTLE_ENDIAN;

export interface EncodedPostingList {
  readonly ids: Buffer;
  readonly tf: Buffer;
}

export function encodePostingList(list: PostingList): EncodedPostingList {
  const { chunkIds, fieldTf } = list;
  const ids = Buffer.from(chunkIds.buffer, chunkIds.byteOffset, chunkIds.byteLength);
  let small = true;
  for (const v of fieldTf)
    if (v >= 255) {
      small = false;
      break;
    }
  const tf = small
    ? Buffer.from(Uint8Array.from(fieldTf).buffer)
    : Buffer.from(fieldTf.buffer, fieldTf.byteOffset, fieldTf.byteLength);
  return { ids, tf };
}

/** `bytes` as a Uint32Array (a view when aligned, else a copy). */
function uint32s(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Uint32Array(Uint8Array.from(bytes).buffer);
}

/** The impacts stored as `bytes` for a list of `n` postings, or undefined when malformed. */
export function decodeImpacts(bytes: Uint8Array, n: number): Float32Array | undefined {
  if (bytes.byteLength !== n * 4) return undefined;
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  return new Float32Array(Uint8Array.from(bytes).buffer);
}

/** The impacts as stored (float32, little-endian). */
export function encodeImpacts(impacts: Float32Array): Buffer {
  return Buffer.from(impacts.buffer, impacts.byteOffset, impacts.byteLength);
}

/** A summary as stored (float64, little-endian). */
export function encodeSummary(summary: Float64Array): Buffer {
  return Buffer.from(summary.buffer, summary.byteOffset, summary.byteLength);
}

/** The summary stored as `bytes` (a copy), or undefined when malformed. */
export function decodeSummary(bytes: Uint8Array): Float64Array | undefined {
  if (bytes.byteLength === 0 || bytes.byteLength % 8 !== 0) return undefined;
  return new Float64Array(Uint8Array.from(bytes).buffer);
}

/** The chunk ids stored as `ids`, or undefined unless they are whole and strictly ascending. */
export function decodeIds(ids: Uint8Array): Uint32Array | undefined {
  if (ids.byteLength % 4 !== 0) return undefined;
  const n = ids.byteLength / 4;
  const chunkIds = uint32s(ids);
  for (let i = 1; i < n; i++) if ((chunkIds[i] ?? 0) <= (chunkIds[i - 1] ?? 0)) return undefined;
  return chunkIds;
}

/** The list stored as `ids` and `tf`, or undefined when they are not a well-formed list. */
export function decodePostingList(ids: Uint8Array, tf: Uint8Array): PostingList | undefined {
  const chunkIds = decodeIds(ids);
  if (!chunkIds) return undefined;
  const n = chunkIds.length;
  let fieldTf: Uint16Array;
  if (tf.byteLength === n * FIELD_COUNT) {
    fieldTf = new Uint16Array(n * FIELD_COUNT);
    fieldTf.set(tf);
  } else if (tf.byteLength === n * FIELD_COUNT * 2) {
    fieldTf =
      tf.byteOffset % 2 === 0
        ? new Uint16Array(tf.buffer, tf.byteOffset, n * FIELD_COUNT)
        : new Uint16Array(Uint8Array.from(tf).buffer);
  } else return undefined;
  return { chunkIds, fieldTf };
}

/** The postings of `list` whose chunk still exists (`exists[id]` is 1), without impacts. */
export function withoutDeleted(list: PostingList, exists: Uint8Array): PostingList {
  const { chunkIds, fieldTf } = list;
  let kept = 0;
  for (const id of chunkIds) if (exists[id] === 1) kept++;
  if (kept === chunkIds.length) return { chunkIds, fieldTf };
  const ids = new Uint32Array(kept);
  const tf = new Uint16Array(kept * FIELD_COUNT);
  let k = 0;
  for (let i = 0; i < chunkIds.length; i++) {
    const id = chunkIds[i] ?? 0;
    if (exists[id] !== 1) continue;
    ids[k] = id;
    tf.set(fieldTf.subarray(i * FIELD_COUNT, (i + 1) * FIELD_COUNT), k * FIELD_COUNT);
    k++;
  }
  return { chunkIds: ids, fieldTf: tf };
}

/** Bytes the stored chunk table takes per chunk id: document, knowledge base, field lengths. */
const TABLE_ID_BYTES = (2 + FIELD_COUNT) * 4;

/** The chunk table as stored in `posting_lists_state.chunk_table`. */
export function encodeChunkTable(table: ChunkTable): Buffer {
  const { size } = table;
  const out = Buffer.alloc(size * TABLE_ID_BYTES);
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4);
  words.set(table.documentId.subarray(0, size), 0);
  words.set(table.kbId.subarray(0, size), size);
  words.set(table.fieldLengths.subarray(0, size * FIELD_COUNT), 2 * size);
  return out;
}

/**
 * The stored chunk table of ids 0 .. size − 1, or undefined unless it is exactly that long
 * and every chunk in it has a knowledge base.
 */
export function decodeChunkTable(bytes: Uint8Array, size: number): ChunkTable | undefined {
  if (!Number.isInteger(size) || size < 1 || bytes.byteLength !== size * TABLE_ID_BYTES) return undefined;
  const words = uint32s(bytes);
  const documentId = words.subarray(0, size);
  const kbId = words.subarray(size, 2 * size);
  const fieldLengths = words.subarray(2 * size);
  let chunkCount = 0;
  for (let id = 0; id < size; id++) {
    if ((documentId[id] ?? 0) === 0) continue;
    if ((kbId[id] ?? 0) === 0) return undefined;
    chunkCount++;
  }
  return { size, chunkCount, documentId, kbId, fieldLengths };
}

/**
 * `table` without the chunks `exists` does not mark (cleared in place), recounted; or
 * undefined when `exists` marks a chunk the table lacks (no deletion explains that).
 */
export function clearDeleted(table: ChunkTable, exists: Uint8Array): ChunkTable | undefined {
  const { size, documentId, kbId, fieldLengths } = table;
  let chunkCount = 0;
  for (let id = 0; id < size; id++) {
    const here = exists[id] === 1;
    if ((documentId[id] ?? 0) === 0) {
      if (here) return undefined;
      continue;
    }
    if (here) {
      chunkCount++;
      continue;
    }
    documentId[id] = 0;
    kbId[id] = 0;
    fieldLengths.fill(0, id * FIELD_COUNT, (id + 1) * FIELD_COUNT);
  }
  return { size, chunkCount, documentId, kbId, fieldLengths };
}
