/**
 * The UI's API client: typed calls to /v1 on the same origin, the API key (kept in
 * localStorage, sent as `Authorization: Bearer`), errors as `ApiError` with the server's
 * code and hint, and the answer stream read from Server-Sent Events over `fetch` (an
 * `EventSource` cannot POST or send a key).
 */
import type {
  AnswerEvent,
  ApiErrorBody,
  DocumentSummary,
  DocumentWithChunks,
  Job,
  KnowledgeBase,
  ListPage,
  Route,
  Source,
} from './types';

const KEY_STORAGE = 'shelf.apiKey';

/** A failed call: the server's error code (or UNREACHABLE when no answer came). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export function apiKey(): string {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setApiKey(key: string): void {
  if (key.trim() === '') localStorage.removeItem(KEY_STORAGE);
  else localStorage.setItem(KEY_STORAGE, key.trim());
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return key === '' ? extra : { ...extra, authorization: `Bearer ${key}` };
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      headers: { ...headers(), ...(init.headers as Record<string, string>) },
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(
      0,
      'UNREACHABLE',
      'The shelf server cannot be reached.',
      'Start it with `shelf serve`.',
    );
  }
  if (res.ok) return res;
  let body: Partial<ApiErrorBody> = {};
  try {
    body = (await res.json()) as ApiErrorBody;
  } catch {
    // Not JSON: a proxy or a crashed server answered.
  }
  const err = body.error;
  throw new ApiError(
    res.status,
    err?.code ?? `HTTP_${res.status}`,
    err?.message ?? `The server answered ${res.status}.`,
    err?.hint ?? '',
  );
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await send(path, init);
  return (await res.json()) as T;
}

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const kbPath = (kb: string): string => `/v1/knowledgebases/${encodeURIComponent(kb)}`;

export interface DocumentQuery {
  readonly author?: string;
  readonly tag?: string;
  readonly since?: string;
  readonly source?: number;
  readonly limit?: number;
  readonly offset?: number;
}

function queryString(q: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

export const api = {
  /** Public: tells "server down" apart from "key needed". */
  health: () => json<{ status: string; version: string }>('/v1/health'),
  knowledgeBases: () => json<ListPage<KnowledgeBase>>('/v1/knowledgebases?limit=1000'),
  createKnowledgeBase: (name: string) => json<KnowledgeBase>('/v1/knowledgebases', post({ name })),
  deleteKnowledgeBase: (kb: string) => send(kbPath(kb), { method: 'DELETE' }).then(() => undefined),
  sources: (kb: string) => json<ListPage<Source>>(`${kbPath(kb)}/sources?limit=1000`),
  addSourceUrl: (kb: string, url: string) => json<{ job: Job }>(`${kbPath(kb)}/sources`, post({ url })),
  uploadSource: (kb: string, file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return json<{ job: Job }>(`${kbPath(kb)}/sources`, { method: 'POST', body: form });
  },
  deleteSource: (kb: string, id: number) =>
    send(`${kbPath(kb)}/sources/${id}`, { method: 'DELETE' }).then(() => undefined),
  syncSource: (kb: string, id: number) => json<{ job: Job }>(`${kbPath(kb)}/sources/${id}/sync`, post({})),
  documents: (kb: string, q: DocumentQuery) =>
    json<ListPage<DocumentSummary>>(`${kbPath(kb)}/documents${queryString({ ...q })}`),
  document: (kb: string, id: number) => json<DocumentWithChunks>(`${kbPath(kb)}/documents/${id}`),
  /** The document's own file (PDFs), as bytes for the viewer. */
  documentFile: async (kb: string, id: number) =>
    new Uint8Array(await (await send(`${kbPath(kb)}/documents/${id}/file`)).arrayBuffer()),
  job: (id: number) => json<Job>(`/v1/jobs/${id}`),
};

/** One earlier turn, sent back so a follow-up continues it. */
export interface HistoryTurn {
  readonly question: string;
  readonly route: Route;
}

/** Splits an SSE byte stream into events (HTML Living Standard §9.2, the subset shelf sends). */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<AnswerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value, { stream: !done }).replaceAll('\r\n', '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) as unknown } as AnswerEvent;
    }
    if (done) return;
  }
}

/** Asks a question and yields the answer's events as they arrive. */
export async function* askStream(
  kb: string,
  question: string,
  history: readonly HistoryTurn[],
  signal: AbortSignal,
): AsyncGenerator<AnswerEvent> {
  const res = await send(`${kbPath(kb)}/answers`, {
    ...post({ question, ...(history.length > 0 ? { history } : {}) }),
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    signal,
  });
  if (!res.body) throw new ApiError(0, 'UNREACHABLE', 'The answer stream was empty.', '');
  yield* readEvents(res.body);
}
