import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../test-support/shared.js';
import { ShelfError } from './errors.js';
import { renderErrorsDoc } from './errors-doc.js';

describe('docs/errors.md', () => {
  it('is up to date with the catalogue (regenerate with npm run docs:errors)', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'docs', 'errors.md'), 'utf8')).toBe(renderErrorsDoc());
  });

  it('has the section every error links to', () => {
    const doc = renderErrorsDoc();
    const anchor = new ShelfError('KB_NOT_FOUND', { name: 'x' }).docs.split('#')[1];
    expect(doc).toContain(`## ${anchor}\n`);
  });
});
