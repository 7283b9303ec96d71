/**
 * The trace of one answer as a timeline: a bar per stage (init, route, primer, retrieve,
 * assemble, answer) sized by its milliseconds, its one-line summary, and what it decided:
 * the route, the candidates with their scores, and the exact context that was sent.
 */
import type { TraceStage, Trace } from './types';

const lines = (s: TraceStage): string[] =>
  Array.isArray(s.detail.lines) ? s.detail.lines.filter((l): l is string => typeof l === 'string') : [];

export function TraceView(props: { trace: Trace }) {
  const { trace } = props;
  const total = Math.max(trace.totalMs, ...trace.stages.map((s) => s.ms), 0.01);
  let start = 0;
  return (
    <section class="trace" aria-label="Trace">
      <ol class="timeline">
        {trace.stages.map((s) => {
          const left = (start / total) * 100;
          start += s.ms;
          const width = Math.max((s.ms / total) * 100, 0.5);
          return (
            <li key={s.name} class="stage" data-stage={s.name}>
              <div class="stage-head">
                <span class="stage-name">{s.name}</span>
                <span class="bar-track" aria-hidden="true">
                  <span class="bar" style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
                </span>
                <span class="ms">{s.ms.toFixed(s.ms < 10 ? 2 : 0)} ms</span>
              </div>
              <p class="stage-summary">{s.summary}</p>
              <StageDetail stage={s} />
            </li>
          );
        })}
      </ol>
      <p class="muted">Total {trace.totalMs.toFixed(0)} ms</p>
    </section>
  );
}

function StageDetail(props: { stage: TraceStage }) {
  const s = props.stage;
  const context = typeof s.detail.context === 'string' ? s.detail.context : undefined;
  const l = lines(s);
  if (s.name === 'assemble' && context !== undefined)
    return (
      <details class="stage-detail">
        <summary>Context sent ({context.length.toLocaleString()} characters)</summary>
        <ul class="lines">
          {l.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
        <pre class="context">{context}</pre>
      </details>
    );
  if (s.name === 'retrieve' && l.length > 0) {
    const [head, ...rest] = l;
    const scored = rest.map((line) => /^\s*(\d+(?:\.\d+)?)\s+(.*)$/.exec(line));
    return (
      <details class="stage-detail" open>
        <summary>Candidates</summary>
        <p class="muted">{head}</p>
        <table class="candidates">
          <thead>
            <tr>
              <th scope="col">Score</th>
              <th scope="col">Document</th>
            </tr>
          </thead>
          <tbody>
            {scored.map((m, i) =>
              m ? (
                <tr key={i}>
                  <td class="num">{m[1]}</td>
                  <td>{m[2]}</td>
                </tr>
              ) : (
                <tr key={i}>
                  <td />
                  <td>{rest[i]}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </details>
    );
  }
  if (l.length === 0) return null;
  return (
    <details class="stage-detail">
      <summary>Detail</summary>
      <ul class="lines">
        {l.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ul>
    </details>
  );
}
