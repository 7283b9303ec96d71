import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeUpload, uploadDirectory, uploadsDir } from './uploads.js';

describe('uploads', () => {
  const uploads = uploadsDir('/data/shelf');

  it('knows an upload only by its exact place: <uploads>/<id>/<name>', () => {
    expect(uploads).toBe('/data/shelf/uploads');
    expect(uploadDirectory(uploads, '/data/shelf/uploads/4f2a/book.pdf')).toBe('/data/shelf/uploads/4f2a');
    for (const location of [
      '/data/shelf/uploads/4f2a',
      '/data/shelf/uploads/4f2a/deeper/book.pdf',
      '/data/shelf/uploads/../shelf.db',
      '/data/shelf/uploads/4f2a/../../shelf.db',
      '/data/shelf/uploads-old/4f2a/book.pdf',
      '/home/me/notes/book.pdf',
      'uploads/4f2a/book.pdf',
      'https://example.com/uploads/4f2a/book.pdf',
      '',
    ])
      expect(uploadDirectory(uploads, location), location).toBeUndefined();
  });

  it('deletes an upload with its directory and leaves everything else', async () => {
    const home = mkdtempSync(join(tmpdir(), 'shelf-uploads-'));
    const dir = join(uploadsDir(home), 'abc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'feed.xml'), '<rss/>');
    const own = join(home, 'notes.md');
    writeFileSync(own, '# Mine');
    await removeUpload(uploadsDir(home), own);
    await removeUpload(uploadsDir(home), 'https://example.com/feed.xml');
    expect(existsSync(own)).toBe(true);
    await removeUpload(uploadsDir(home), join(dir, 'feed.xml'));
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(uploadsDir(home))).toBe(true);
    // Already gone: nothing to do, no error.
    await removeUpload(uploadsDir(home), join(dir, 'feed.xml'));
  });
});
