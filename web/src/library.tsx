/**
 * Library: the knowledge bases, and the sources of the selected one with their sync state,
 * last error and next refresh. Adds a feed, page or OPML URL, or uploads a file (PDF, feed,
 * OPML, Markdown); each addition is a job whose progress is polled until it completes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import type { Shell } from './app';
import type { Job, Source } from './types';

const POLL_MS = 400;

interface Tracked {
  readonly job: Job;
  readonly label: string;
}

export function LibraryPage(props: { shell: Shell }) {
  const { shell } = props;
  const [sources, setSources] = useState<Source[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [jobs, setJobs] = useState<Tracked[]>([]);
  const [url, setUrl] = useState('');
  const [newKb, setNewKb] = useState('');
  const [reload, setReload] = useState(0);
  const [failed, setFailed] = useState(false);
  const file = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let stop = false;
    setFailed(false);
    api
      .sources(shell.kb)
      .then((p) => !stop && setSources(p.items))
      .catch((e: unknown) => {
        if (stop) return;
        setSources(undefined);
        setError(shell.report(e));
        setFailed(true);
      });
    return () => {
      stop = true;
    };
  }, [shell.kb, reload, shell.report]);

  // Polls the jobs that are still queued or running; refreshes the lists when one ends.
  const pending = jobs.filter((t) => t.job.state === 'queued' || t.job.state === 'running');
  useEffect(() => {
    if (pending.length === 0) return undefined;
    const timer = window.setTimeout(() => {
      void Promise.all(pending.map((t) => api.job(t.job.id).catch(() => t.job))).then((fresh) => {
        const byId = new Map(fresh.map((j) => [j.id, j]));
        setJobs((all) => all.map((t) => ({ ...t, job: byId.get(t.job.id) ?? t.job })));
        if (fresh.some((j) => j.state === 'succeeded' || j.state === 'failed')) {
          setReload((r) => r + 1);
          shell.refresh();
        }
      });
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [jobs]);

  const run = async (label: string, start: () => Promise<{ job: Job }>): Promise<void> => {
    setError(undefined);
    try {
      const { job } = await start();
      setJobs((all) => [{ job, label }, ...all]);
    } catch (e) {
      setError(shell.report(e));
    }
  };

  const remove = async (s: Source): Promise<void> => {
    if (!window.confirm(`Remove “${s.title ?? s.location}” and all its documents?`)) return;
    try {
      await api.deleteSource(shell.kb, s.id);
      setReload((r) => r + 1);
      shell.refresh();
    } catch (e) {
      setError(shell.report(e));
    }
  };

  const current = shell.kbs.find((k) => k.name === shell.kb);
  return (
    <div class="page library">
      <h1>Library</h1>
      <section aria-labelledby="kbs-title">
        <h2 id="kbs-title">Knowledge bases</h2>
        <ul class="kb-cards">
          {shell.kbs.map((k) => (
            <li key={k.id} class={k.name === shell.kb ? 'kb-card current' : 'kb-card'}>
              <button type="button" class="linklike kb-name" onClick={() => shell.selectKb(k.name)}>
                {k.name}
              </button>
              <span class="muted">
                {k.sourceCount} sources · {k.documentCount} documents · {k.chunkCount} chunks
              </span>
              <button
                type="button"
                class="ghost danger"
                aria-label={`Delete the knowledge base ${k.name}`}
                onClick={() => {
                  if (!window.confirm(`Delete the knowledge base “${k.name}” with all its sources?`)) return;
                  api
                    .deleteKnowledgeBase(k.name)
                    .then(() => shell.refresh())
                    .catch((e: unknown) => setError(shell.report(e)));
                }}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const name = newKb.trim();
            if (name === '') return;
            api
              .createKnowledgeBase(name)
              .then(() => {
                setNewKb('');
                shell.selectKb(name);
                shell.refresh();
              })
              .catch((err: unknown) => setError(shell.report(err)));
          }}
        >
          <label>
            <span>New knowledge base</span>
            <input
              value={newKb}
              onInput={(e) => setNewKb(e.currentTarget.value)}
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
              placeholder="name"
            />
          </label>
          <button type="submit">Create</button>
        </form>
      </section>

      <section aria-labelledby="add-title">
        <h2 id="add-title">Add to “{shell.kb}”</h2>
        <div class="add-grid">
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              const u = url.trim();
              if (u === '') return;
              void run(u, () => api.addSourceUrl(shell.kb, u)).then(() => setUrl(''));
            }}
          >
            <label>
              <span>Feed, page or OPML URL</span>
              <input
                type="url"
                value={url}
                onInput={(e) => setUrl(e.currentTarget.value)}
                placeholder="https://example.org/feed.xml"
              />
            </label>
            <button type="submit">Add URL</button>
          </form>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              const f = file.current?.files?.[0];
              if (!f) return;
              void run(f.name, () => api.uploadSource(shell.kb, f)).then(() => {
                if (file.current) file.current.value = '';
              });
            }}
          >
            <label>
              <span>Upload a file (PDF, feed, OPML, Markdown, text)</span>
              <input
                type="file"
                ref={file}
                accept=".pdf,.xml,.rss,.atom,.json,.opml,.md,.markdown,.txt,.html,.htm"
              />
            </label>
            <button type="submit">Upload</button>
          </form>
        </div>
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {jobs.length > 0 && (
          <ul class="jobs" aria-label="Jobs">
            {jobs.map((t) => (
              <JobRow key={t.job.id} tracked={t} />
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="sources-title">
        <h2 id="sources-title">Sources{current ? ` (${current.sourceCount})` : ''}</h2>
        {sources === undefined && !failed && <p class="muted">Loading…</p>}
        {sources?.length === 0 && <p class="muted">No sources yet: add a feed, a page or a file above.</p>}
        {sources !== undefined && sources.length > 0 && (
          <div class="table-wrap">
            <table class="sources-table">
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Last sync</th>
                  <th scope="col">Next refresh</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sources.map((s) => (
                  <tr key={s.id} data-source={s.id}>
                    <td>
                      <div class="source-title">{s.title ?? s.location}</div>
                      {s.title !== undefined && <div class="muted small break">{s.location}</div>}
                      {s.lastError !== undefined && (
                        <div class="error small" role="note">
                          Last error: {s.lastError}
                        </div>
                      )}
                    </td>
                    <td>{s.kind}</td>
                    <td>{when(s.lastSyncedAt) ?? 'never'}</td>
                    <td>{nextRefresh(s)}</td>
                    <td class="actions">
                      <button
                        type="button"
                        class="ghost"
                        aria-label={`Sync ${s.title ?? s.location}`}
                        onClick={() =>
                          void run(`sync ${s.title ?? s.location}`, () => api.syncSource(shell.kb, s.id))
                        }
                      >
                        Sync
                      </button>
                      <button
                        type="button"
                        class="ghost danger"
                        aria-label={`Remove ${s.title ?? s.location}`}
                        onClick={() => void remove(s)}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function JobRow(props: { tracked: Tracked }) {
  const { job, label } = props.tracked;
  const { done, total } = job.progress;
  const finished = job.state === 'succeeded' || job.state === 'failed';
  const r = job.result;
  return (
    <li class={`job ${job.state}`} data-job={job.id} data-state={job.state}>
      <div class="job-head">
        <span class="job-label">{label}</span>
        <span class={`chip state-${job.state}`}>{job.state}</span>
      </div>
      <progress
        max={finished ? 1 : Math.max(total, 1)}
        value={finished ? 1 : total > 0 ? done : undefined}
        aria-label={`Progress of ${label}`}
      />
      <span class="muted small">
        {job.state === 'succeeded' && r
          ? `${r.added ?? 0} added, ${r.updated ?? 0} updated${r.title !== undefined ? ` · ${r.title}` : ''}`
          : job.state === 'failed'
            ? `${job.error?.message ?? 'failed'} ${job.error?.hint ?? ''}`
            : total > 0
              ? `${done} of ${total}${job.progress.label !== undefined ? ` · ${job.progress.label}` : ''}`
              : job.state === 'queued'
                ? 'waiting…'
                : 'working…'}
      </span>
    </li>
  );
}

function when(iso: string | undefined): string | undefined {
  if (iso === undefined) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function nextRefresh(s: Source): string {
  if (s.refreshIntervalS === undefined) return '—';
  if (s.lastSyncedAt === undefined) return 'soon';
  const next = new Date(new Date(s.lastSyncedAt).getTime() + s.refreshIntervalS * 1000);
  return next.getTime() <= Date.now() ? 'due now' : next.toLocaleString();
}
