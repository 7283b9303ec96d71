#!/usr/bin/env node
// Writes docs/errors.md from the error catalogue (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc } from '../dist/core/errors-doc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'errors.md'), renderErrorsDoc());
