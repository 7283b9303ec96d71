/** `shelf mcp`: a Model Context Protocol server on stdio (tools search, ask, list_documents). */
import type { Command } from 'commander';
import { serveMcpStdio } from '../../mcp/mcp.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('mcp')
    .description('serve the knowledge bases to an MCP client over stdio')
    .action(async () => {
      await serveMcpStdio({ app: ctx.app() });
    });
}
