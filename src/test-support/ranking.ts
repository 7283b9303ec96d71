/**
 * Ranking test fixtures: a knowledge base of documents given as a title and chunk texts,
 * indexed as ingest would (title and body analysed; no heading or tags), written straight
 * to a store. Authors alternate ("Even Author", "Odd Author") for filter tests.
 */
import { chunkInput, documentInput } from '../store/store-contract.js';
import type { Store } from '../store/store.js';
import { indexText } from '../text/analyze.js';

export interface TextDoc {
  readonly title: string;
  readonly chunks: readonly string[];
}

/** Writes `docs` into a new knowledge base `kbName`; returns its id and the documents' ids. */
export async function fillKnowledgeBase(
  store: Store,
  docs: readonly TextDoc[],
  kbName = 'default',
): Promise<{ kbId: number; ids: number[] }> {
  const kb = await store.createKnowledgeBase(kbName);
  const source = await store.addSource({ kbId: kb.id, kind: 'text', location: `mem:${kbName}` });
  const ids: number[] = [];
  for (const [i, d] of docs.entries()) {
    const { id } = await store.upsertDocument({
      kbId: kb.id,
      sourceId: source.id,
      document: documentInput(`d${i}`, {
        title: d.title,
        author: i % 2 === 0 ? 'Even Author' : 'Odd Author',
      }),
      chunks: d.chunks.map((text, ordinal) =>
        chunkInput(ordinal, text, {
          index: { title: indexText(d.title), heading: '', body: indexText(text), tags: '' },
        }),
      ),
    });
    ids.push(id);
  }
  return { kbId: kb.id, ids };
}
