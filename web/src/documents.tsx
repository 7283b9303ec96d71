/**
 * Documents: browse a knowledge base's documents, newest first, filtered by author, tag,
 * date and source; open one to read it as its chunks (with pages or sections), or as PDF
 * pages.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type DocumentQuery } from './api';
import type { Shell } from './app';
import { Reader } from './reader';
import { link } from './router';
import type { DocumentSummary, ListPage, Source } from './types';

const PAGE = 25;

export function DocumentsPage(props: { shell: Shell }) {
  const { shell } = props;
  const [filters, setFilters] = useState({ author: '', tag: '', since: '', source: '' });
  const [applied, setApplied] = useState(filters);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<ListPage<DocumentSummary> | undefined>();
  const [sources, setSources] = useState<Source[]>([]);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    api
      .sources(shell.kb)
      .then((p) => setSources(p.items))
      .catch(() => setSources([]));
  }, [shell.kb]);

  useEffect(() => {
    let stop = false;
    const q: DocumentQuery = {
      limit: PAGE,
      offset,
      ...(applied.author !== '' ? { author: applied.author } : {}),
      ...(applied.tag !== '' ? { tag: applied.tag } : {}),
      ...(applied.since !== '' ? { since: applied.since } : {}),
      ...(applied.source !== '' ? { source: Number(applied.source) } : {}),
    };
    setError(undefined);
    api
      .documents(shell.kb, q)
      .then((p) => !stop && setPage(p))
      .catch((e: unknown) => !stop && setError(shell.report(e)));
    return () => {
      stop = true;
    };
  }, [shell.kb, applied, offset, shell.report]);

  const field = (name: keyof typeof filters) => ({
    value: filters[name],
    onInput: (e: { currentTarget: { value: string } }) =>
      setFilters({ ...filters, [name]: e.currentTarget.value }),
  });
  const sourceName = new Map(sources.map((s) => [s.id, s.title ?? s.location]));

  return (
    <div class="page">
      <h1>Documents</h1>
      <form
        class="filters"
        aria-label="Filter documents"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied(filters);
        }}
      >
        <label>
          <span>Author</span>
          <input type="search" placeholder="any" {...field('author')} />
        </label>
        <label>
          <span>Tag</span>
          <input type="search" placeholder="any" {...field('tag')} />
        </label>
        <label>
          <span>Since</span>
          <input type="text" placeholder="2024-01-01 or 6m" {...field('since')} />
        </label>
        <label>
          <span>Source</span>
          <select
            value={filters.source}
            onChange={(e) => setFilters({ ...filters, source: e.currentTarget.value })}
          >
            <option value="">all</option>
            {sources.map((s) => (
              <option key={s.id} value={String(s.id)}>
                {s.title ?? s.location}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && (
        <>
          <p class="muted" aria-live="polite">
            {page.total === 0
              ? 'No documents match.'
              : `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total} documents`}
          </p>
          <ul class="doc-list">
            {page.items.map((d) => (
              <li key={d.id}>
                <a {...link(`/documents/${d.id}`)} class="doc-title">
                  {d.title}
                </a>
                <span class="muted">
                  {[
                    kindLabel(d),
                    d.author,
                    d.published?.slice(0, 10),
                    sourceName.get(d.sourceId),
                    `${d.chunkCount} chunks`,
                  ]
                    .filter((x) => x !== undefined)
                    .join(' · ')}
                </span>
                {d.tags.length > 0 && (
                  <span class="tags">
                    {d.tags.slice(0, 8).map((t) => (
                      <button
                        type="button"
                        key={t}
                        class="chip"
                        onClick={() => {
                          const next = { ...filters, tag: t };
                          setFilters(next);
                          setOffset(0);
                          setApplied(next);
                        }}
                      >
                        {t}
                      </button>
                    ))}
                  </span>
                )}
              </li>
            ))}
          </ul>
          <div class="pager">
            <button
              type="button"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE))}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={offset + PAGE >= page.total}
              onClick={() => setOffset(offset + PAGE)}
            >
              Next
            </button>
          </div>
        </>
      )}
    </div>
  );
}

function kindLabel(d: DocumentSummary): string {
  return d.kind === 'pdf' && d.pageCount !== undefined ? `PDF, ${d.pageCount} pages` : d.kind;
}

/** One document, full page; `?chunk=` highlights a chunk, `?page=` opens a PDF page. */
export function DocumentPage(props: { shell: Shell; id: number; chunk: number; page: number }) {
  const focus = useMemo(
    () => ({
      chunkIds: Number.isInteger(props.chunk) ? [props.chunk] : [],
      ...(Number.isInteger(props.page) ? { page: props.page } : {}),
    }),
    [props.chunk, props.page],
  );
  return (
    <div class="page">
      <p>
        <a {...link('/documents')}>← All documents</a>
      </p>
      <Reader shell={props.shell} kb={props.shell.kb} documentId={props.id} focus={focus} />
    </div>
  );
}
