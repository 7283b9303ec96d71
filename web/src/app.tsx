/**
 * The shell: header with navigation and the knowledge base picker, the connection state
 * (server unreachable, API key needed), and the page for the current path. The Ask page
 * stays mounted while other pages show, so the conversation survives a visit to them.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiKey, setApiKey } from './api';
import { AskPage } from './ask';
import { DocumentPage, DocumentsPage } from './documents';
import { LibraryPage } from './library';
import { link, useLocation } from './router';
import type { KnowledgeBase } from './types';

const KB_STORAGE = 'shelf.kb';

type Connection = 'loading' | 'ok' | 'unreachable' | 'key';

export interface Shell {
  readonly kb: string;
  readonly kbs: readonly KnowledgeBase[];
  /** Reloads the knowledge bases (counts change after ingesting). */
  readonly refresh: () => void;
  readonly selectKb: (name: string) => void;
  /**
   * Reports a failed call: switches to the key form or the unreachable banner when it says
   * so (and returns undefined, the banner being the message), else returns the message.
   */
  readonly report: (e: unknown) => string | undefined;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.hint === '' ? e.message : `${e.message} ${e.hint}`;
  return e instanceof Error ? e.message : String(e);
}

export function App() {
  const loc = useLocation();
  const [connection, setConnection] = useState<Connection>('loading');
  const [kbs, setKbs] = useState<KnowledgeBase[]>([]);
  const [kb, setKb] = useState<string>(() => localStorage.getItem(KB_STORAGE) ?? 'default');
  const [tick, setTick] = useState(0);

  const report = useCallback((e: unknown): string | undefined => {
    if (e instanceof ApiError && e.code === 'UNAUTHORIZED') {
      setConnection('key');
      return undefined;
    }
    if (e instanceof ApiError && e.code === 'UNREACHABLE') {
      setConnection('unreachable');
      return undefined;
    }
    return errorText(e);
  }, []);

  useEffect(() => {
    let stop = false;
    api
      .knowledgeBases()
      .then((page) => {
        if (stop) return;
        setKbs(page.items);
        setConnection('ok');
        const first = page.items[0];
        if (first && !page.items.some((k) => k.name === kb)) setKb(first.name);
      })
      .catch((e: unknown) => {
        if (!stop) report(e);
      });
    return () => {
      stop = true;
    };
    // Reload on demand (tick), not whenever the selected knowledge base changes.
  }, [tick, report]);

  const selectKb = useCallback((name: string) => {
    localStorage.setItem(KB_STORAGE, name);
    setKb(name);
  }, []);
  const shell: Shell = { kb, kbs, refresh: () => setTick((t) => t + 1), selectKb, report };

  const page = loc.path.replace(/\/+$/, '') || '/';
  const docMatch = /^\/documents\/(\d+)$/.exec(page);
  const nav = [
    { to: '/', label: 'Ask' },
    { to: '/library', label: 'Library' },
    { to: '/documents', label: 'Documents' },
  ];
  const active = (to: string): boolean => (to === '/' ? page === '/' : page.startsWith(to));

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" {...link('/')} aria-label="shelf, home">
          <span aria-hidden="true">▤</span> shelf
        </a>
        <nav aria-label="Main">
          {nav.map((n) => (
            <a key={n.to} {...link(n.to)} aria-current={active(n.to) ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <label class="kb-pick">
          <span>Knowledge base</span>
          <select value={kb} onChange={(e) => selectKb(e.currentTarget.value)} disabled={kbs.length === 0}>
            {kbs.length === 0 && <option value={kb}>{kb}</option>}
            {kbs.map((k) => (
              <option key={k.id} value={k.name}>
                {k.name} ({k.documentCount})
              </option>
            ))}
          </select>
        </label>
      </header>
      {connection === 'unreachable' && (
        <div class="banner error" role="alert">
          <strong>The shelf server cannot be reached.</strong> Check that <code>shelf serve</code> is running,
          then{' '}
          <button type="button" onClick={() => setTick((t) => t + 1)}>
            try again
          </button>
          .
        </div>
      )}
      {connection === 'key' && <KeyForm onSaved={() => setTick((t) => t + 1)} />}
      <main>
        <div hidden={page !== '/'}>
          <AskPage shell={shell} active={page === '/'} />
        </div>
        {page === '/library' && <LibraryPage shell={shell} />}
        {page === '/documents' && <DocumentsPage shell={shell} />}
        {docMatch?.[1] !== undefined && (
          <DocumentPage
            shell={shell}
            id={Number(docMatch[1])}
            chunk={Number(loc.query.get('chunk') ?? NaN)}
            page={Number(loc.query.get('page') ?? NaN)}
          />
        )}
        {page !== '/' && page !== '/library' && page !== '/documents' && !docMatch && (
          <p class="empty">
            There is no page here. <a {...link('/')}>Ask a question</a> instead.
          </p>
        )}
      </main>
    </div>
  );
}

function KeyForm(props: { onSaved: () => void }) {
  const [value, setValue] = useState(apiKey);
  return (
    <form
      class="banner key"
      onSubmit={(e) => {
        e.preventDefault();
        setApiKey(value);
        props.onSaved();
      }}
    >
      <p>
        <strong>This server needs an API key.</strong> Create one with <code>shelf keys create NAME</code> and
        paste it here; it stays in this browser.
      </p>
      <label>
        <span>API key</span>
        <input
          type="password"
          autoComplete="off"
          placeholder="shelf_…"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Save key</button>
    </form>
  );
}
