/** `shelf mcp`: a Model Context Protocol server on stdio (tools search, ask, list_documents). */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('mcp')
    .description('serve the knowledge bases to an MCP client over stdio')
    .action(async () => {
      // Loaded when the command runs, so other commands do not pay for it at start-up.
      const { serveMcpStdio } = await import('../../mcp/mcp.js');
      await serveMcpStdio({ app: ctx.app() });
    });
}
