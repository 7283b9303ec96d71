/**
 * docs/errors.md, generated from the catalogue: one section per code with its kind,
 * CLI exit code, HTTP status and hint. The anchors match `ShelfError.docs`.
 */
import { EXIT_CODES, MESSAGES, STATUS_BY_KIND, type ErrorCode } from './errors.js';

export function anchorOf(code: ErrorCode): string {
  return code.toLowerCase().replaceAll('_', '-');
}

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/core/errors.ts` by `npm run docs:errors`; a test fails when this file is out of date.',
    'Every error shelf reports carries one of these codes, a message saying what is wrong, and the hint below.',
    '',
  ];
  for (const code of Object.keys(MESSAGES).sort() as ErrorCode[]) {
    const entry = MESSAGES[code];
    lines.push(
      `## ${anchorOf(code)}`,
      '',
      `\`${code}\` · kind \`${entry.kind}\` · CLI exit code ${EXIT_CODES[entry.kind]} · HTTP ${STATUS_BY_KIND[entry.kind]}`,
      '',
      entry.hint,
      '',
    );
  }
  return lines.join('\n');
}
