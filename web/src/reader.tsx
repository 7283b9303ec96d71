/**
 * Reads one document: a PDF page by page in the built-in viewer (pdf.js, from the
 * document's file endpoint), or any document as its chunks with their headings and pages.
 * A focus (from a citation) opens the PDF at the cited page, or highlights the cited
 * chunks and their quoted span and scrolls to them.
 */
import type { PDFDocumentProxy } from 'pdfjs-dist';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import type { Shell } from './app';
import { openPdf, renderPage } from './pdf';
import { link } from './router';
import type { Chunk, DocumentWithChunks } from './types';

export interface ReaderFocus {
  readonly chunkIds: readonly number[];
  /** Physical page (PDF), 1-based. */
  readonly page?: number;
  readonly quote?: string;
}

export function Reader(props: {
  shell: Shell;
  kb: string;
  documentId: number;
  focus?: ReaderFocus;
  onClose?: () => void;
}) {
  const { shell, kb, documentId, focus } = props;
  const [doc, setDoc] = useState<DocumentWithChunks | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [mode, setMode] = useState<'pdf' | 'text'>('pdf');
  const [pdfFailed, setPdfFailed] = useState<string | undefined>();

  useEffect(() => {
    let stop = false;
    setDoc(undefined);
    setError(undefined);
    api
      .document(kb, documentId)
      .then((d) => !stop && setDoc(d))
      .catch((e: unknown) => !stop && setError(shell.report(e)));
    return () => {
      stop = true;
    };
  }, [kb, documentId, shell.report]);

  if (error !== undefined)
    return (
      <div class="reader">
        <ReaderHead title="Source" onClose={props.onClose} />
        <p class="error" role="alert">
          {error}
        </p>
      </div>
    );
  if (!doc)
    return (
      <div class="reader" aria-busy="true">
        <ReaderHead title="Loading…" onClose={props.onClose} />
      </div>
    );

  const isPdf = doc.kind === 'pdf' && pdfFailed === undefined;
  const showPdf = isPdf && mode === 'pdf';
  const focusChunk = doc.chunks.find((c) => focus?.chunkIds.includes(c.id));
  const startPage = focus?.page ?? focusChunk?.pageStart ?? 1;
  return (
    <div class="reader" data-document={doc.id} data-kind={doc.kind}>
      <ReaderHead title={doc.title} onClose={props.onClose} />
      <p class="doc-meta muted">
        {[
          doc.author,
          doc.published?.slice(0, 10),
          doc.pageCount !== undefined ? `${doc.pageCount} pages` : undefined,
        ]
          .filter((x) => x !== undefined)
          .join(' · ')}
        {doc.url !== undefined && !doc.url.startsWith('file:') && (
          <>
            {' · '}
            <a href={doc.url} rel="noreferrer noopener" target="_blank">
              original
            </a>
          </>
        )}
        {props.onClose && (
          <>
            {' · '}
            <a {...link(`/documents/${doc.id}${focusChunk ? `?chunk=${focusChunk.id}` : ''}`)}>
              open in Documents
            </a>
          </>
        )}
      </p>
      {focus?.quote !== undefined && focus.quote !== '' && showPdf && (
        <blockquote class="quote">
          <q>{focus.quote}</q>
        </blockquote>
      )}
      {doc.kind === 'pdf' && (
        <div class="tabs" role="group" aria-label="View">
          <button type="button" aria-pressed={showPdf} disabled={!isPdf} onClick={() => setMode('pdf')}>
            Pages
          </button>
          <button type="button" aria-pressed={!showPdf} onClick={() => setMode('text')}>
            Text
          </button>
        </div>
      )}
      {pdfFailed !== undefined && <p class="muted">The PDF cannot be shown here: {pdfFailed}</p>}
      {showPdf ? (
        <PdfViewer
          shell={shell}
          kb={kb}
          doc={doc}
          page={startPage}
          onFail={(message) => {
            setPdfFailed(message);
            setMode('text');
          }}
        />
      ) : (
        <ChunkView doc={doc} focus={focus} />
      )}
    </div>
  );
}

function ReaderHead(props: { title: string; onClose: (() => void) | undefined }) {
  return (
    <div class="reader-head">
      <h2>{props.title}</h2>
      {props.onClose && (
        <button type="button" class="ghost" aria-label="Close the source" onClick={props.onClose}>
          ✕
        </button>
      )}
    </div>
  );
}

function PdfViewer(props: {
  shell: Shell;
  kb: string;
  doc: DocumentWithChunks;
  page: number;
  onFail: (message: string) => void;
}) {
  const { doc } = props;
  const [pdf, setPdf] = useState<PDFDocumentProxy | undefined>();
  const [page, setPage] = useState(props.page);
  const [rendered, setRendered] = useState(0);
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const onFail = useRef(props.onFail);
  onFail.current = props.onFail;

  useEffect(() => setPage(props.page), [props.page]);

  useEffect(() => {
    let stop = false;
    let opened: PDFDocumentProxy | undefined;
    api
      .documentFile(props.kb, doc.id)
      .then((bytes) => openPdf(bytes))
      .then((p) => {
        opened = p;
        if (stop) void p.destroy();
        else setPdf(p);
      })
      .catch((e: unknown) => {
        if (!stop) onFail.current(e instanceof Error ? e.message : String(e));
      });
    return () => {
      stop = true;
      void opened?.destroy();
    };
  }, [props.kb, doc.id]);

  const pages = pdf?.numPages ?? doc.pageCount ?? 1;
  useEffect(() => {
    const c = canvas.current;
    if (!pdf || !c) return;
    let stop = false;
    const width = Math.min(box.current?.clientWidth ?? 800, 1000) - 2;
    renderPage(pdf, Math.min(Math.max(page, 1), pages), c, width)
      .then(() => !stop && setRendered(page))
      .catch((e: unknown) => !stop && onFail.current(e instanceof Error ? e.message : String(e)));
    return () => {
      stop = true;
    };
  }, [pdf, page, pages]);

  const label = doc.pageLabels?.[page - 1];
  const go = (n: number): void => setPage(Math.min(Math.max(n, 1), pages));
  const onKey = (e: JSX.TargetedKeyboardEvent<HTMLDivElement>): void => {
    if (e.key === 'ArrowRight' || e.key === 'PageDown') go(page + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'PageUp') go(page - 1);
  };
  return (
    <div class="pdf" ref={box}>
      <div class="pdf-bar">
        <button type="button" onClick={() => go(page - 1)} disabled={page <= 1} aria-label="Previous page">
          ‹
        </button>
        <span class="page-no" aria-live="polite" data-page={rendered === page ? page : undefined}>
          Page {page} of {pages}
          {label !== undefined && label !== String(page) ? ` (p. ${label})` : ''}
        </span>
        <button type="button" onClick={() => go(page + 1)} disabled={page >= pages} aria-label="Next page">
          ›
        </button>
      </div>
      {!pdf && <p class="muted">Opening the PDF…</p>}
      <div class="pdf-page" tabIndex={0} onKeyDown={onKey} aria-label={`PDF page ${page}`}>
        <canvas ref={canvas} role="img" aria-label={`Page ${page} of ${doc.title}`} />
      </div>
    </div>
  );
}

/** The document as its chunks: headings when the section changes, page marks for PDFs. */
function ChunkView(props: { doc: DocumentWithChunks; focus: ReaderFocus | undefined }) {
  const { doc, focus } = props;
  const first = useRef<HTMLElement>(null);
  const focusIds = new Set(focus?.chunkIds ?? []);
  useEffect(() => {
    first.current?.scrollIntoView({ block: 'center' });
  }, [doc.id, focus]);
  let lastHeading = '';
  let lastPage: number | undefined;
  let firstSet = false;
  return (
    <div class="chunks">
      {doc.chunks.map((c) => {
        const heading = c.headingPath.join(' › ');
        const showHeading = heading !== '' && heading !== lastHeading;
        lastHeading = heading;
        const showPage = c.pageStart !== undefined && c.pageStart !== lastPage;
        lastPage = c.pageEnd ?? c.pageStart;
        const hl = focusIds.has(c.id);
        const isFirst = hl && !firstSet;
        if (isFirst) firstSet = true;
        return (
          <section
            key={c.id}
            id={`chunk-${c.id}`}
            class={hl ? 'chunk hl' : 'chunk'}
            data-chunk={c.id}
            data-anchor={c.anchor}
            aria-current={hl ? 'true' : undefined}
            {...(isFirst ? { ref: first } : {})}
          >
            {showPage && <p class="page-mark">Page {pageLabel(doc, c)}</p>}
            {showHeading && <h3>{heading}</h3>}
            <ChunkText text={c.text} quote={hl ? focus?.quote : undefined} />
          </section>
        );
      })}
    </div>
  );
}

function pageLabel(doc: DocumentWithChunks, c: Chunk): string {
  const label = c.pageStart !== undefined ? doc.pageLabels?.[c.pageStart - 1] : undefined;
  return label !== undefined && label !== String(c.pageStart)
    ? `${c.pageStart} (p. ${label})`
    : String(c.pageStart);
}

/** A chunk's text: fenced code as <pre>, the rest as paragraphs, the quote marked. */
function ChunkText(props: { text: string; quote: string | undefined }) {
  const parts = props.text.split(/^(```[^\n]*\n[\s\S]*?\n```)$/m);
  return (
    <>
      {parts.map((part, i) => {
        if (part.startsWith('```')) {
          const body = part.replace(/^```[^\n]*\n/, '').replace(/\n```$/, '');
          return (
            <pre key={i}>
              <code>{body}</code>
            </pre>
          );
        }
        return part
          .split(/\n{2,}/)
          .filter((p) => p.trim() !== '')
          .map((p, j) => <p key={`${i}:${j}`}>{mark(p, props.quote)}</p>);
      })}
    </>
  );
}

function mark(text: string, quote: string | undefined): (string | JSX.Element)[] | string {
  if (quote === undefined || quote === '') return text;
  const at = text.indexOf(quote);
  if (at < 0) return text;
  return [text.slice(0, at), <mark key="q">{quote}</mark>, text.slice(at + quote.length)];
}
