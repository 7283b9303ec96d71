import { describe, expect, it } from 'vitest';
import { FIELD_COUNT } from '../store.js';
import { decodeOccurrences } from './occurrences.js';

const code = (chunk: number, field: number): number => chunk * FIELD_COUNT + field;

describe('decodeOccurrences', () => {
  it('counts occurrences per chunk and field', () => {
    const list = decodeOccurrences(
      [code(3, 0), code(3, 2), code(3, 2), code(7, 1), code(12, 3), code(12, 3)].join(','),
    );
    expect([...list.chunkIds]).toEqual([3, 7, 12]);
    expect([...list.fieldTf]).toEqual([1, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
  });

  it('is empty for no occurrences', () => {
    const list = decodeOccurrences('');
    expect(list.chunkIds.length).toBe(0);
    expect(list.fieldTf.length).toBe(0);
  });

  it('sorts codes that arrive out of order', () => {
    const list = decodeOccurrences([code(9, 2), code(2, 0), code(9, 2), code(2, 2)].join(','));
    expect([...list.chunkIds]).toEqual([2, 9]);
    expect([...list.fieldTf]).toEqual([1, 0, 1, 0, 0, 0, 2, 0]);
  });

  it('keeps chunk ids beyond 32 bits of codes exact', () => {
    const big = 2 ** 31 + 5;
    const list = decodeOccurrences(String(code(big, 1)));
    expect([...list.chunkIds]).toEqual([big]);
    expect([...list.fieldTf]).toEqual([0, 1, 0, 0]);
  });

  it('caps a field count at 65535', () => {
    const list = decodeOccurrences(Array.from({ length: 70_000 }, () => code(1, 2)).join(','));
    expect(list.fieldTf[2]).toBe(0xffff);
  });

  it('rejects anything but digits and commas', () => {
    expect(() => decodeOccurrences('12,x4')).toThrow(/holds "x"/);
  });
});
