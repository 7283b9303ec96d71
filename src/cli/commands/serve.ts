/** `shelf serve`: the HTTP API with background jobs, until SIGINT or SIGTERM. */
import type { Command } from 'commander';
import { wholeNumber, type CliContext } from '../context.js';

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP API (/v1) with background ingestion and feed refreshes')
    .option('--host <host>', 'interface to listen on (beyond loopback needs API keys)')
    .option('--port <port>', 'port to listen on', wholeNumber('--port', 65535))
    .option('--no-jobs', 'do not run background jobs in this process')
    .action(async (o: { host?: string; port?: number; jobs: boolean }) => {
      // Loaded when the command runs, so other commands do not pay for it at start-up.
      const { startServer } = await import('../../server/server.js');
      const server = await startServer({
        app: ctx.app(),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        jobs: o.jobs,
      });
      ctx.io.stderr.write(
        `shelf: web UI at ${server.url}/ · API at ${server.url}/v1 (OpenAPI: ${server.url}/v1/openapi.json)\n`,
      );
      await untilSignal();
      await server.close();
    });
}
