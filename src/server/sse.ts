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

/** An event stream written as events happen (model tokens as they arrive). */
export interface EventStream {
  /** Writes one event; ignored once the client has gone. */
  send(e: ServerEvent): void;
  /** Ends the response. */
  end(): void;
  /** True once the client went away. */
  readonly closed: boolean;
}

/** Takes over the response and writes the event-stream headers; events follow with `send`. */
export function openEventStream(reply: FastifyReply): EventStream {
  const res = reply.raw;
  startStream(reply);
  return {
    send(e) {
      // Node buffers what the socket cannot take yet; tokens are small and finite.
      if (!res.destroyed) res.write(formatEvent(e));
    },
    end() {
      if (!res.destroyed) res.end();
    },
    get closed() {
      return res.destroyed;
    },
  };
}

function startStream(reply: FastifyReply): void {
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
}

/** Writes the events in order and ends the response; stops early if the client goes away. */
export async function writeEvents(reply: FastifyReply, events: readonly ServerEvent[]): Promise<void> {
  const res = reply.raw;
  startStream(reply);
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
