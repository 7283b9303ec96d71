/**
 * A ranking's hits in three columns (chunk id, document id, score), in one buffer.
 *
 * Why not an array of `{ chunkId, documentId, score }`: without pointer compression (Node's
 * build), such an object with its boxed score takes 72 bytes of young generation, so a
 * thousand hits were 70 KB a query, a third of what a Cranfield query allocated, and the
 * second stage copied them again. The garbage set how often a young-generation collection
 * paused a query (about 1 ms, every 55 queries at top 1000: bench/README.md, Peers). The
 * ranker passes hits in columns between its stages, and makes objects only for the caller
 * that reads RankResult.hits.
 */

/** One hit, as callers read it. */
export interface RankedChunk {
  readonly chunkId: number;
  readonly documentId: number;
  /** Higher is better; comparable only within one result list. */
  readonly score: number;
}

/** Hits best first, read-only: `length` of them, the columns may be longer. */
export interface RankedHits {
  readonly length: number;
  readonly chunkIds: Uint32Array;
  readonly documentIds: Uint32Array;
  readonly scores: Float64Array;
}

/** Bytes a hit takes: a double, then two 32-bit ids. */
const HIT_BYTES = Float64Array.BYTES_PER_ELEMENT + 2 * Uint32Array.BYTES_PER_ELEMENT;

export class HitList implements RankedHits {
  length = 0;
  chunkIds: Uint32Array;
  documentIds: Uint32Array;
  scores: Float64Array;

  /** An empty list with room for `room` hits (it grows past them). */
  constructor(room = 0) {
    const { chunkIds, documentIds, scores } = columns(room);
    this.chunkIds = chunkIds;
    this.documentIds = documentIds;
    this.scores = scores;
  }

  /** Room for the hits a list can take before push has to grow it. */
  get room(): number {
    return this.scores.length;
  }

  push(chunkId: number, documentId: number, score: number): void {
    const at = this.length;
    if (at === this.scores.length) this.grow(Math.max(16, 2 * at));
    this.chunkIds[at] = chunkId;
    this.documentIds[at] = documentId;
    this.scores[at] = score;
    this.length = at + 1;
  }

  /** Hit `to` becomes a copy of hit `from` (both within the list). */
  move(from: number, to: number): void {
    this.chunkIds[to] = this.chunkIds[from] ?? 0;
    this.documentIds[to] = this.documentIds[from] ?? 0;
    this.scores[to] = this.scores[from] ?? 0;
  }

  /** Keeps the first `n` hits. */
  truncate(n: number): void {
    this.length = Math.max(0, Math.min(this.length, n));
  }

  /** Keeps the hits whose chunk `keep` accepts, in their order. */
  retain(keep: (chunkId: number) => boolean): void {
    let n = 0;
    for (let i = 0; i < this.length; i++) {
      if (!keep(this.chunkIds[i] ?? 0)) continue;
      if (n !== i) this.move(i, n);
      n++;
    }
    this.length = n;
  }

  /** The chunk ids of the hits, as an array. */
  chunkIdList(): number[] {
    return Array.from(this.chunkIds.subarray(0, this.length));
  }

  private grow(room: number): void {
    const next = columns(room);
    next.chunkIds.set(this.chunkIds.subarray(0, this.length));
    next.documentIds.set(this.documentIds.subarray(0, this.length));
    next.scores.set(this.scores.subarray(0, this.length));
    this.chunkIds = next.chunkIds;
    this.documentIds = next.documentIds;
    this.scores = next.scores;
  }
}

/** The hits as objects, best first. */
export function hitObjects(hits: RankedHits): RankedChunk[] {
  const out = new Array<RankedChunk>(hits.length);
  for (let i = 0; i < hits.length; i++)
    out[i] = {
      chunkId: hits.chunkIds[i] ?? 0,
      documentId: hits.documentIds[i] ?? 0,
      score: hits.scores[i] ?? 0,
    };
  return out;
}

/** Three columns of `room` hits over one buffer (one allocation, not three). */
function columns(room: number): Pick<RankedHits, 'chunkIds' | 'documentIds' | 'scores'> {
  const buffer = new ArrayBuffer(room * HIT_BYTES);
  const idBytes = room * Uint32Array.BYTES_PER_ELEMENT;
  return {
    // The doubles first, so they sit on an 8-byte boundary.
    scores: new Float64Array(buffer, 0, room),
    chunkIds: new Uint32Array(buffer, room * Float64Array.BYTES_PER_ELEMENT, room),
    documentIds: new Uint32Array(buffer, room * Float64Array.BYTES_PER_ELEMENT + idBytes, room),
  };
}
