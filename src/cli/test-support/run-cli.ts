/** Runs the real CLI entry point (`main(argv, io)`) in-process and captures what it prints. */
import { Readable } from 'node:stream';
import { main } from '../main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Passed as `--home`. */
  readonly home: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Text piped to standard input (for `shelf chat`). */
  readonly stdin?: string;
}

export async function runCli(argv: readonly string[], options: CliRunOptions): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(['--home', options.home, ...argv], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
    env: options.env ?? {},
    isTTY: false,
  });
  return { code, stdout, stderr };
}
