/**
 * Ask: a conversation with the knowledge base. Each answer streams in word by word; its
 * `[n]` markers become superscript citations that show the quoted span on hover or focus
 * and open the source beside the answer on click (the PDF at its page, or the article with
 * the cited chunk highlighted). The route, its filters, unsupported-claim flags and the
 * trace are shown with each answer. Later questions send the earlier turns, so follow-ups
 * ("and how do I test it?") continue the conversation.
 */
import type { JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { askStream, type HistoryTurn } from './api';
import { errorText, type Shell } from './app';
import { Reader, type ReaderFocus } from './reader';
import { TraceView } from './trace';
import type { Answer, Citation, Nearest, Route, SentenceCheck, Trace } from './types';

/** Turns of history sent with a question (the server accepts up to 6). */
const HISTORY_TURNS = 6;

interface Turn {
  readonly id: number;
  readonly question: string;
  readonly kb: string;
  route?: Route;
  text: string;
  citations: Citation[];
  nearest: Nearest[];
  answer?: Answer;
  trace?: Trace;
  error?: string;
  done: boolean;
}

interface Opened {
  readonly kb: string;
  readonly citation: Citation;
}

export function AskPage(props: { shell: Shell; active: boolean }) {
  const { shell } = props;
  const [turns, setTurns] = useState<Turn[]>([]);
  const [question, setQuestion] = useState('');
  const [opened, setOpened] = useState<Opened | undefined>();
  const input = useRef<HTMLTextAreaElement>(null);
  const abort = useRef<AbortController | undefined>(undefined);
  const busy = turns.some((t) => !t.done);

  // "/" focuses the question from anywhere on the page (unless typing elsewhere).
  useEffect(() => {
    if (!props.active) return undefined;
    const onKey = (e: KeyboardEvent): void => {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest('input, textarea, select, [contenteditable="true"]') != null;
      if (e.key === '/' && !typing && !e.metaKey && !e.ctrlKey && !e.altKey) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props.active]);

  useEffect(() => () => abort.current?.abort(), []);

  const update = (id: number, change: (t: Turn) => Partial<Turn>): void =>
    setTurns((all) => all.map((t) => (t.id === id ? { ...t, ...change(t) } : t)));

  const ask = async (text: string): Promise<void> => {
    const q = text.trim();
    if (q === '' || busy) return;
    const kb = shell.kb;
    const history: HistoryTurn[] = turns
      .filter((t) => t.kb === kb && t.route !== undefined && t.error === undefined)
      .slice(-HISTORY_TURNS)
      .map((t) => ({ question: t.question, route: t.route as Route }));
    const id = Date.now();
    setTurns((all) => [...all, { id, question: q, kb, text: '', citations: [], nearest: [], done: false }]);
    setQuestion('');
    const controller = new AbortController();
    abort.current = controller;
    try {
      for await (const e of askStream(kb, q, history, controller.signal)) {
        switch (e.event) {
          case 'route':
            update(id, () => ({ route: e.data }));
            break;
          case 'sources':
            update(id, () => ({ citations: e.data.citations, nearest: e.data.nearest }));
            break;
          case 'token':
            update(id, (t) => ({ text: t.text + e.data.text }));
            break;
          case 'answer':
            update(id, () => ({ answer: e.data, text: e.data.text, citations: e.data.citations }));
            break;
          case 'trace':
            update(id, () => ({ trace: e.data }));
            break;
          case 'error':
            update(id, () => ({ error: `${e.data.error.message} ${e.data.error.hint}` }));
            break;
        }
      }
      update(id, () => ({ done: true }));
    } catch (e) {
      shell.report(e);
      update(id, () => ({ done: true, error: errorText(e) }));
    }
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    // Enter asks; Shift+Enter makes a new line.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void ask(question);
    }
  };

  return (
    <div class={opened ? 'ask split' : 'ask'}>
      <section class="conversation" aria-label="Conversation">
        {turns.length === 0 && (
          <div class="intro">
            <h1>Ask your shelf</h1>
            <p>
              Answers quote your feeds, pages and books, and every claim links to its source. Press{' '}
              <kbd>/</kbd> to type a question and <kbd>Enter</kbd> to ask.
            </p>
          </div>
        )}
        <ol class="turns">
          {turns.map((t) => (
            <li key={t.id} class="turn">
              <TurnView turn={t} onOpen={(c) => setOpened({ kb: t.kb, citation: c })} />
            </li>
          ))}
        </ol>
        <form
          class="ask-form"
          onSubmit={(e) => {
            e.preventDefault();
            void ask(question);
          }}
        >
          <label for="question" class="visually-hidden">
            Question
          </label>
          <textarea
            id="question"
            ref={input}
            rows={2}
            value={question}
            placeholder={
              turns.length > 0
                ? 'Ask a follow-up…  (press / to focus)'
                : 'Ask a question…  (press / to focus)'
            }
            onInput={(e) => setQuestion(e.currentTarget.value)}
            onKeyDown={onKeyDown}
            maxLength={4000}
          />
          <button type="submit" disabled={busy || question.trim() === ''}>
            {busy ? 'Answering…' : 'Ask'}
          </button>
        </form>
      </section>
      {opened && (
        <aside class="source-panel" aria-label="Source">
          <Reader
            key={`${opened.kb}:${opened.citation.n}:${opened.citation.chunkIds.join(',')}`}
            shell={shell}
            kb={opened.kb}
            documentId={opened.citation.documentId}
            focus={focusOf(opened.citation)}
            onClose={() => setOpened(undefined)}
          />
        </aside>
      )}
    </div>
  );
}

function focusOf(c: Citation): ReaderFocus {
  return {
    chunkIds: c.chunkIds,
    quote: c.quote,
    ...(c.pageStart !== undefined ? { page: c.pageStart } : {}),
  };
}

function TurnView(props: { turn: Turn; onOpen: (c: Citation) => void }) {
  const { turn } = props;
  const [showTrace, setShowTrace] = useState(false);
  const byN = new Map(turn.citations.map((c) => [c.n, c]));
  const sentences = turn.answer?.generation?.sentences ?? [];
  const flagged = sentences.filter((s) => s.unsupported);
  const cited = turn.citations.filter((c) => turn.text.includes(`[${c.n}]`));
  return (
    <article class="exchange" aria-busy={!turn.done}>
      <p class="question">{turn.question}</p>
      {turn.route && <RouteLine route={turn.route} />}
      <div class="answer" data-done={turn.done ? 'true' : 'false'}>
        {turn.text === '' && !turn.done && <p class="muted">Thinking…</p>}
        <AnswerText text={turn.text} byN={byN} sentences={sentences} onOpen={props.onOpen} />
      </div>
      {flagged.length > 0 && (
        <p class="flag" role="note">
          ⚠ {flagged.length} {flagged.length === 1 ? 'sentence is' : 'sentences are'} not supported by the
          sources they cite (marked).
        </p>
      )}
      {turn.answer?.declined === true && turn.nearest.length > 0 && (
        <p class="muted">Nearest documents: {turn.nearest.map((d) => d.title).join(' · ')}</p>
      )}
      {turn.error !== undefined && (
        <p class="error" role="alert">
          {turn.error}
        </p>
      )}
      {cited.length > 0 && (
        <ol class="sources" aria-label="Sources">
          {cited.map((c) => (
            <li key={c.n} value={c.n}>
              <a
                href={`/documents/${c.documentId}?chunk=${c.chunkIds[0] ?? ''}`}
                onClick={(e) => {
                  e.preventDefault();
                  props.onOpen(c);
                }}
              >
                {c.label}
              </a>
              {c.author !== undefined && <span class="muted"> · {c.author}</span>}
            </li>
          ))}
        </ol>
      )}
      {turn.trace && (
        <div class="trace-toggle">
          <button
            type="button"
            class="ghost"
            aria-expanded={showTrace}
            onClick={() => setShowTrace(!showTrace)}
          >
            {showTrace ? 'Hide trace' : 'Show trace'} · {turn.trace.totalMs.toFixed(0)} ms
          </button>
          {showTrace && <TraceView trace={turn.trace} />}
        </div>
      )}
    </article>
  );
}

function RouteLine(props: { route: Route }) {
  const { route } = props;
  const f = route.filters;
  const chips: string[] = [];
  if (f.author !== undefined) chips.push(`author: ${f.author}`);
  if (f.tag !== undefined) chips.push(`tag: ${f.tag}`);
  if (f.since !== undefined) chips.push(`since ${f.since.slice(0, 10)}`);
  if (f.until !== undefined) chips.push(`until ${f.until.slice(0, 10)}`);
  if (f.sourceId !== undefined) chips.push(`source #${f.sourceId}`);
  return (
    <p class="route" aria-label="How the question was read">
      <span class="chip route-type" title={`rule ${route.rule}`}>
        {route.type}
      </span>
      {chips.map((c) => (
        <span key={c} class="chip filter">
          {c}
        </span>
      ))}
      {route.followUpOf !== undefined && <span class="chip">follows “{route.followUpOf}”</span>}
      <span class="muted query">searched: {route.query}</span>
    </p>
  );
}

/**
 * The answer text with `[n]` as superscript citations, paragraphs kept, and unsupported
 * sentences (generated answers) marked.
 */
function AnswerText(props: {
  text: string;
  byN: Map<number, Citation>;
  sentences: readonly SentenceCheck[];
  onOpen: (c: Citation) => void;
}) {
  const paragraphs: JSX.Element[] = [];
  let offset = 0;
  props.text.split(/\n{2,}/).forEach((para, i) => {
    const start = props.text.indexOf(para, offset);
    offset = start + para.length;
    if (para.trim() === '') return;
    const bad = props.sentences.filter((s) => s.unsupported && s.start < offset && s.end > start);
    const nodes: (JSX.Element | string)[] = [];
    const re = /\[(\d+)\]/g;
    let last = 0;
    for (let m = re.exec(para); m !== null; m = re.exec(para)) {
      nodes.push(para.slice(last, m.index));
      const n = Number(m[1]);
      const c = props.byN.get(n);
      nodes.push(c ? <Cite key={`${i}:${m.index}`} citation={c} onOpen={props.onOpen} /> : m[0]);
      last = m.index + m[0].length;
    }
    nodes.push(para.slice(last));
    const lines = para.split('\n');
    const isList = lines.length > 1 && lines.every((l) => /^\s*([-*•]|\d+\.)\s/.test(l));
    paragraphs.push(
      <p key={i} class={`${bad.length > 0 ? 'unsupported' : ''}${isList ? ' pre-line' : ''}`}>
        {nodes}
        {bad.length > 0 && <span class="visually-hidden"> (not supported by its sources)</span>}
      </p>,
    );
  });
  return <>{paragraphs}</>;
}

function Cite(props: { citation: Citation; onOpen: (c: Citation) => void }) {
  const c = props.citation;
  const id = useId();
  return (
    <sup class="cite-wrap">
      <button
        type="button"
        class="cite"
        aria-label={`Source ${c.n}: ${c.label}`}
        aria-describedby={id}
        data-n={c.n}
        onClick={() => props.onOpen(c)}
      >
        {c.n}
      </button>
      <span role="tooltip" id={id} class="tip">
        <q>{c.quote}</q>
        <span class="tip-label">{c.label}</span>
      </span>
    </sup>
  );
}
