/**
 * The worker thread behind `openPreparer`: chunks and analyses the batches of documents it
 * is sent, answering each document with its chunks or with the error `prepareChunks` threw.
 */
import { parentPort } from 'node:worker_threads';
import { sendError, type PrepareReply, type PrepareRequest } from './prepare-pool.js';
import { prepareChunks } from './prepare.js';

const port = parentPort;
if (port === null) throw new Error('prepare-worker.js runs as a worker thread, started by openPreparer');
port.on('message', ({ id, items }: PrepareRequest) => {
  const reply: PrepareReply = {
    id,
    results: items.map(({ doc, tags, options }) => {
      try {
        return { chunks: prepareChunks(doc, tags, options) };
      } catch (e) {
        return { error: sendError(e) };
      }
    }),
  };
  port.postMessage(reply);
});
