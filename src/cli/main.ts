/**
 * The `shelf` command line. `main(argv, io)` is the entry point tests drive; it never
 * calls process.exit and returns the exit code:
 *   0 ok · 1 internal error · 2 usage · 3 not found · 4 conflict · 5 bad input (or some
 *   inputs of a sync failed) · 6 remote failure · 7 forbidden or unauthorized ·
 *   8 unavailable (the database is locked).
 */
import { Command, CommanderError } from 'commander';
import { openApp, type App } from '../app.js';
import { loadConfig } from '../core/config.js';
import { EXIT_CODES, toShelfError } from '../core/errors.js';
import * as askCommand from './commands/ask.js';
import * as evalBeirCommand from './commands/eval-beir.js';
import * as keysCommand from './commands/keys.js';
import * as library from './commands/library.js';
import * as mcpCommand from './commands/mcp.js';
import * as migrateCommand from './commands/migrate.js';
import * as searchCommand from './commands/search.js';
import * as serveCommand from './commands/serve.js';
import { createCliContext, type CliIo } from './context.js';
import { ANSI, PLAIN } from './format.js';

export type { CliIo } from './context.js';

/** Every command module; each adds its commands to the program. */
const COMMANDS = [
  library,
  searchCommand,
  askCommand,
  evalBeirCommand,
  serveCommand,
  keysCommand,
  mcpCommand,
  migrateCommand,
];

interface GlobalOptions {
  home?: string;
  config?: string;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let app: App | undefined;
  let exitCode = 0;

  const program = new Command('shelf')
    .description(
      'A self-hosted knowledge base for technical reading: feeds, PDFs, pages and Markdown in; cited answers out.',
    )
    .option('--home <dir>', 'data directory (default: $SHELF_HOME or ~/.local/share/shelf)')
    .option('--config <file>', 'configuration file (default: $SHELF_HOME/shelf.config.json)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError();

  const ctx = createCliContext({
    io,
    style: io.isTTY ? ANSI : PLAIN,
    app: () => {
      if (!app) {
        const g = program.opts<GlobalOptions>();
        const config = loadConfig({
          env: io.env,
          ...(g.home !== undefined ? { home: g.home } : {}),
          ...(g.config !== undefined ? { configPath: g.config } : {}),
        });
        app = openApp({ config });
      }
      return app;
    },
    fail: (code) => {
      exitCode = code;
    },
  });
  for (const command of COMMANDS) command.register(program, ctx);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    // Help and version are not failures; commander already printed its message.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_CODES.usage;
    const err = toShelfError(e);
    io.stderr.write(`shelf: ${err.message}\n  ${err.hint}\n`);
    exitCode = EXIT_CODES[err.kind];
  } finally {
    await app?.close();
  }
  return exitCode;
}
