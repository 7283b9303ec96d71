/**
 * The worker thread behind `openPreparer`: chunks and analyses the documents it is sent,
 * answering each request with its chunks or with the error `prepareChunks` threw.
 */
import { parentPort } from 'node:worker_threads';
import { ShelfError } from '../core/errors.js';
import type { PrepareReply, PrepareRequest } from './prepare-pool.js';
import { prepareChunks } from './prepare.js';

const port = parentPort;
if (port === null) throw new Error('prepare-worker.js runs as a worker thread, started by openPreparer');
port.on('message', (request: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    reply = { id: request.id, chunks: prepareChunks(request.doc, request.tags, request.options) };
  } catch (e) {
    reply = {
      id: request.id,
      error:
        e instanceof ShelfError
          ? { code: e.code, details: e.details, message: e.message }
          : { message: e instanceof Error ? e.message : String(e) },
    };
  }
  port.postMessage(reply);
});
