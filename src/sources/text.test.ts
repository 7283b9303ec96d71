import { describe, expect, it } from 'vitest';
import { isShelfError } from '../core/errors.js';
import { rawInput, testContext } from './__fixtures__/context.js';
import { fileTitle, parseText, textToBlocks } from './text.js';

const ctx = testContext();

describe('parseText', () => {
  it('takes a short first line as the title and splits paragraphs at blank lines', async () => {
    const doc = await parseText(
      rawInput('Release notes\n\nFirst   paragraph\ncontinues.\n\nSecond.', { location: '/a/notes.txt' }),
      ctx,
    );
    expect(doc).toMatchObject({
      key: '/a/notes.txt',
      kind: 'text',
      title: 'Release notes',
      url: 'file:///a/notes.txt',
    });
    expect(doc.blocks).toEqual([
      { kind: 'paragraph', text: 'Release notes' },
      { kind: 'paragraph', text: 'First paragraph continues.' },
      { kind: 'paragraph', text: 'Second.' },
    ]);
  });

  it('uses the file name when the first line is long or runs on', async () => {
    const long = 'word '.repeat(40);
    expect((await parseText(rawInput(long, { location: '/a/My%20File.txt' }), ctx)).title).toBe('My File');
    expect((await parseText(rawInput('line one\nline two', { location: '/a/b.txt' }), ctx)).title).toBe('b');
  });

  it('keeps indented blocks as code, verbatim', () => {
    expect(textToBlocks('Run this:\n\n    make all\n\tcd  out\n\n        deeper\n\nDone.')).toEqual([
      { kind: 'paragraph', text: 'Run this:' },
      { kind: 'code', text: 'make all\ncd  out\n\n    deeper' },
      { kind: 'paragraph', text: 'Done.' },
    ]);
  });

  it('refuses an empty file and decodes windows-1252 text', async () => {
    const error = await parseText(rawInput(' \n\n '), ctx).catch((e: unknown) => e);
    expect(isShelfError(error, 'DOCUMENT_EMPTY')).toBe(true);
    const doc = await parseText(
      rawInput(Uint8Array.from([0x93, 0x68, 0x69, 0x94]), { location: '/a/q.txt', charset: 'windows-1252' }),
      ctx,
    );
    expect(doc.title).toBe('\u201chi\u201d');
  });
});

describe('fileTitle', () => {
  it('strips directories, extension and percent-encoding', () => {
    expect(fileTitle('https://e.example/docs/Caf%C3%A9%20notes.md?x=1')).toBe('Café notes');
    expect(fileTitle('C:\\docs\\report.txt')).toBe('report');
    expect(fileTitle('/a/100%.txt')).toBe('100%');
  });
});
