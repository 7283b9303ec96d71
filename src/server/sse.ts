/**
 * Server-Sent Events (HTML Living Standard §9.2): `event: NAME` and one `data:` line of
 * JSON per event, a blank line after each. JSON never holds a raw newline, so one data line
 * always suffices. The response is taken over from the framework, so the security headers
 * are written here too.
 */
import type { FastifyReply } from 'fastify';
import { SECURITY_HEADERS } from './headers.js';

export interface ServerEvent {
  readonly event: string;
  readonly data: unknown;
}

export function formatEvent(e: ServerEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** Writes the events in order and ends the response; stops early if the client goes away. */
export async function writeEvents(reply: FastifyReply, events: readonly ServerEvent[]): Promise<void> {
  const res = reply.raw;
  // Headers set on the reply so far (CORS, rate limit) go out with the stream.
  const extra: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) extra[k] = v;
  reply.hijack();
  res.writeHead(200, {
    ...extra,
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  for (const e of events) {
    if (res.destroyed) return;
    // Respect back-pressure: wait for the socket to drain before writing more.
    if (!res.write(formatEvent(e)))
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
  }
  res.end();
}
