import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELD_COUNT, type ChunkTable, type PostingList } from '../store.js';
import {
  clearDeleted,
  decodeChunkTable,
  decodeIds,
  decodeImpacts,
  decodePostingList,
  decodeSummary,
  encodeChunkTable,
  encodeImpacts,
  encodePostingList,
  encodeSummary,
  withoutDeleted,
} from './posting-lists.js';

const list = (ids: number[], tf: number[]): PostingList => ({
  chunkIds: Uint32Array.from(ids),
  fieldTf: Uint16Array.from(tf),
});
const plain = (l: PostingList | undefined) => l && [[...l.chunkIds], [...l.fieldTf]];

describe('compact posting lists', () => {
  it('round-trips lists with one byte per count, or two when a count reaches 255', () => {
    const small = list([2, 5, 9], [1, 0, 3, 0, 0, 0, 1, 0, 0, 2, 254, 1]);
    const smallBlobs = encodePostingList(small);
    expect(smallBlobs.ids.byteLength).toBe(12);
    expect(smallBlobs.tf.byteLength).toBe(12);
    expect(plain(decodePostingList(smallBlobs.ids, smallBlobs.tf))).toEqual(plain(small));
    const large = list([2, 70_000], [0, 0, 255, 0, 1, 0, 65_535, 0]);
    const largeBlobs = encodePostingList(large);
    expect(largeBlobs.tf.byteLength).toBe(16);
    expect(plain(decodePostingList(largeBlobs.ids, largeBlobs.tf))).toEqual(plain(large));
    const empty = encodePostingList(list([], []));
    expect(plain(decodePostingList(empty.ids, empty.tf))).toEqual([[], []]);
  });

  it('round-trips any list, whatever the blobs’ alignment', () => {
    const arbitrary = fc
      .uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 40 })
      .chain((ids) =>
        fc.tuple(
          fc.constant(ids.sort((x, y) => x - y)),
          fc.array(fc.integer({ min: 0, max: 65_535 }), {
            minLength: ids.length * FIELD_COUNT,
            maxLength: ids.length * FIELD_COUNT,
          }),
          fc.integer({ min: 0, max: 3 }),
        ),
      );
    fc.assert(
      fc.property(arbitrary, ([ids, tf, shift]) => {
        const { ids: a, tf: b } = encodePostingList(list(ids, tf));
        // As a driver may hand them back: inside a larger buffer, at any offset.
        const at = (bytes: Uint8Array): Uint8Array => {
          const host = new Uint8Array(bytes.byteLength + shift);
          host.set(bytes, shift);
          return host.subarray(shift);
        };
        expect(plain(decodePostingList(at(a), at(b)))).toEqual([ids, tf]);
      }),
    );
  });

  it('refuses blobs that are not a well-formed list', () => {
    const { ids, tf } = encodePostingList(list([2, 5], [1, 0, 0, 0, 0, 1, 0, 0]));
    expect(decodePostingList(ids.subarray(0, 7), tf)).toBeUndefined();
    expect(decodePostingList(ids, tf.subarray(0, 5))).toBeUndefined();
    expect(decodePostingList(ids.subarray(0, 4), tf.subarray(0, 6))).toBeUndefined();
    const unordered = encodePostingList(list([5, 2], [1, 0, 0, 0, 0, 1, 0, 0]));
    expect(decodePostingList(unordered.ids, unordered.tf)).toBeUndefined();
    const repeated = encodePostingList(list([5, 5], [1, 0, 0, 0, 0, 1, 0, 0]));
    expect(decodePostingList(repeated.ids, repeated.tf)).toBeUndefined();
  });

  it('round-trips impacts and refuses a blob of the wrong length', () => {
    const impacts = Float32Array.from([0.5, 1.25, 2.75]);
    const bytes = encodeImpacts(impacts);
    expect([...(decodeImpacts(bytes, 3) ?? [])]).toEqual([0.5, 1.25, 2.75]);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    expect([...(decodeImpacts(shifted.subarray(1), 3) ?? [])]).toEqual([0.5, 1.25, 2.75]);
    expect(decodeImpacts(bytes, 2)).toBeUndefined();
  });

  it('round-trips a summary and refuses an empty or ragged one', () => {
    const bytes = encodeSummary(Float64Array.of(2.5, 1e9 + 0.25));
    const shifted = new Uint8Array(bytes.byteLength + 3);
    shifted.set(bytes, 3);
    expect([...(decodeSummary(shifted.subarray(3)) ?? [])]).toEqual([2.5, 1e9 + 0.25]);
    expect(decodeSummary(bytes.subarray(0, 12))).toBeUndefined();
    expect(decodeSummary(new Uint8Array(0))).toBeUndefined();
  });

  it('decodes ids alone, refusing ragged or unordered ones', () => {
    const { ids } = encodePostingList(list([2, 5, 9], [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]));
    expect([...(decodeIds(ids) ?? [])]).toEqual([2, 5, 9]);
    expect(decodeIds(ids.subarray(0, 10))).toBeUndefined();
    expect(decodeIds(encodePostingList(list([9, 2], [1, 0, 0, 0, 1, 0, 0, 0])).ids)).toBeUndefined();
  });

  it('drops the postings of deleted chunks', () => {
    const l = list([1, 3, 4], [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0]);
    expect(plain(withoutDeleted(l, Uint8Array.from([0, 1, 0, 0, 1])))).toEqual([
      [1, 4],
      [1, 0, 0, 0, 0, 0, 3, 0],
    ]);
    const all = withoutDeleted(
      { ...l, impacts: Float32Array.from([1, 2, 3]) },
      Uint8Array.from([0, 1, 0, 1, 1]),
    );
    expect(all.chunkIds).toBe(l.chunkIds);
    // Impacts never outlive a deletion (they depend on every chunk's length).
    expect(all.impacts).toBeUndefined();
    // Ids past the map are gone too.
    expect(plain(withoutDeleted(l, Uint8Array.from([0, 1])))).toEqual([[1], [1, 0, 0, 0]]);
  });
});

describe('stored chunk tables', () => {
  // Ids 0..3: 0 and 2 hold no chunk.
  const table: ChunkTable = {
    size: 4,
    chunkCount: 2,
    documentId: Uint32Array.of(0, 7, 0, 8),
    kbId: Uint32Array.of(0, 1, 0, 2),
    fieldLengths: Uint32Array.from({ length: 4 * FIELD_COUNT }, (_, i) => (i >= FIELD_COUNT ? i : 0)),
  };
  const flat = (t: ChunkTable | undefined) =>
    t && [t.size, t.chunkCount, [...t.documentId], [...t.kbId], [...t.fieldLengths]];

  it('round-trips, from an aligned blob or not', () => {
    const blob = encodeChunkTable(table);
    expect(blob.byteLength).toBe(4 * (2 + FIELD_COUNT) * 4);
    expect(flat(decodeChunkTable(blob, 4))).toEqual(flat(table));
    const shifted = Buffer.concat([Buffer.alloc(1), blob]).subarray(1);
    expect(flat(decodeChunkTable(shifted, 4))).toEqual(flat(table));
  });

  it('refuses a blob of another length, a size that is no size, and a chunk without a knowledge base', () => {
    const blob = encodeChunkTable(table);
    expect(decodeChunkTable(blob, 3)).toBeUndefined();
    expect(decodeChunkTable(blob, 5)).toBeUndefined();
    expect(decodeChunkTable(blob.subarray(0, blob.byteLength - 1), 4)).toBeUndefined();
    expect(decodeChunkTable(Buffer.alloc(0), 0)).toBeUndefined();
    expect(decodeChunkTable(blob, Number.NaN)).toBeUndefined();
    expect(decodeChunkTable(blob, 2.5)).toBeUndefined();
    const words = new Uint32Array(Uint8Array.from(blob).buffer);
    words[4 + 3] = 0;
    expect(decodeChunkTable(Buffer.from(words.buffer), 4)).toBeUndefined();
  });

  it('clears deleted chunks, and refuses a table that lacks a chunk still there', () => {
    const copy = decodeChunkTable(Uint8Array.from(encodeChunkTable(table)), 4)!;
    const cleared = clearDeleted(copy, Uint8Array.of(0, 1, 0, 0));
    expect(cleared?.chunkCount).toBe(1);
    expect([...(cleared?.documentId ?? [])]).toEqual([0, 7, 0, 0]);
    expect([...(cleared?.kbId ?? [])]).toEqual([0, 1, 0, 0]);
    expect([...(cleared?.fieldLengths.subarray(3 * FIELD_COUNT) ?? [])]).toEqual(
      new Array(FIELD_COUNT).fill(0),
    );
    expect(
      clearDeleted(decodeChunkTable(encodeChunkTable(table), 4)!, Uint8Array.of(0, 1, 1, 1)),
    ).toBeUndefined();
  });
});
