/**
 * Human output of the CLI: search results, document and source lists, sync reports.
 * Colour (bold highlights) only when writing to a terminal.
 */
import type { SyncReport } from '../ingest/ingest.js';
import type { SearchHit } from '../search/search.js';
import type { DocumentRecord, KnowledgeBaseSummary, SourceRecord } from '../store/store.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
}

export const PLAIN: Style = { bold: (s) => s, dim: (s) => s };
export const ANSI: Style = { bold: (s) => `\u001b[1m${s}\u001b[22m`, dim: (s) => `\u001b[2m${s}\u001b[22m` };

function day(iso: string | undefined): string | undefined {
  return iso?.slice(0, 10);
}

/** "Nicolas Mesa, 2019-08-21" style byline from what the document has. */
export function byline(d: DocumentRecord): string {
  return [d.author, day(d.published)].filter((x) => x !== undefined && x !== '').join(', ');
}

export function formatHits(hits: readonly SearchHit[], style: Style): string {
  if (hits.length === 0) return 'No results.\n';
  const lines: string[] = [];
  for (const h of hits) {
    const by = byline(h.document);
    lines.push(`${h.rank}. ${style.bold(h.citation)}${by ? style.dim(` — ${by}`) : ''}`);
    const path = h.chunk.headingPath.join(' > ');
    if (path && path !== h.document.title) lines.push(`   ${style.dim(path)}`);
    let text = '';
    let at = 0;
    for (const [s, e] of h.snippet.highlights) {
      text += h.snippet.text.slice(at, s) + style.bold(h.snippet.text.slice(s, e));
      at = e;
    }
    text += h.snippet.text.slice(at);
    lines.push(`   ${text}`);
    if (h.url) lines.push(`   ${style.dim(h.url)}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function formatDocuments(docs: readonly DocumentRecord[], total: number, offset: number): string {
  if (docs.length === 0) return 'No documents.\n';
  const lines = docs.map((d) => {
    const by = byline(d);
    const pages = d.pageCount !== undefined ? `, ${d.pageCount} pages` : '';
    const problems = d.problems && d.problems.length > 0 ? `, ${d.problems.length} problem pages` : '';
    const tags = d.tags.length > 0 ? ` [${d.tags.join(', ')}]` : '';
    return `${String(d.id).padStart(5)}  ${d.title}${by ? ` — ${by}` : ''} (${d.kind}, ${d.chunkCount} chunks${pages}${problems})${tags}`;
  });
  lines.push(`${offset + 1}-${offset + docs.length} of ${total}`);
  return lines.join('\n') + '\n';
}

export function formatProblems(docs: readonly DocumentRecord[]): string {
  const lines: string[] = [];
  for (const d of docs)
    for (const p of d.problems ?? []) lines.push(`${d.title}, p. ${p.page}: ${p.reason} (${p.detail})`);
  return lines.length > 0 ? lines.join('\n') + '\n' : 'No problem pages.\n';
}

export function formatSources(sources: readonly SourceRecord[]): string {
  if (sources.length === 0) return 'No sources.\n';
  return (
    sources
      .map((s) => {
        const state = s.lastError
          ? `error: ${s.lastError}`
          : s.lastSyncedAt
            ? `synced ${s.lastSyncedAt}`
            : 'never synced';
        return `${String(s.id).padStart(4)}  ${s.kind.padEnd(9)} ${s.title ? `${s.title} ` : ''}<${s.location}>  ${state}`;
      })
      .join('\n') + '\n'
  );
}

export function formatKnowledgeBases(kbs: readonly KnowledgeBaseSummary[]): string {
  if (kbs.length === 0) return 'No knowledge bases.\n';
  return (
    kbs
      .map((k) => `${k.name}  ${k.sourceCount} sources, ${k.documentCount} documents, ${k.chunkCount} chunks`)
      .join('\n') + '\n'
  );
}

export function formatReport(r: SyncReport): string {
  const what = r.title ? `${r.title} <${r.location}>` : r.location;
  const counts = r.notModified
    ? 'not modified'
    : `${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged${r.removed > 0 ? `, ${r.removed} removed` : ''}`;
  const lines = [`${what}: ${counts}`];
  for (const e of r.errors) lines.push(`  error: ${e.location}: ${e.message}`);
  for (const p of r.problems)
    lines.push(
      `  ${p.document}: ${p.problems.length} page(s) not indexed (${p.problems.map((x) => `p. ${x.page} ${x.reason}`).join(', ')})`,
    );
  return lines.join('\n') + '\n';
}
