import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SearchResult } from '../search/search.js';
import { hasShared, sharedPath } from '../test-support/shared.js';
import { runCli, type CliRun } from './test-support/run-cli.js';

const shelf = (home: string, ...argv: string[]): Promise<CliRun> => runCli(argv, { home });

const FEEDS = ['devto-nicolasmesa.xml', 'devto-narasimha1997.xml', 'forem-douglasmakey.xml'].map(
  (f) => `corpus/feeds/${f}`,
);

describe.skipIf(!hasShared(...FEEDS))('shelf search over the shared feeds', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-cli-'));

  beforeAll(async () => {
    const r = await shelf(home, 'add', ...FEEDS.map((f) => sharedPath(f)));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/9 added/);
  });

  const titles = async (query: string, ...flags: string[]): Promise<string[]> => {
    const r = await shelf(home, 'search', query, '--json', ...flags);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as SearchResult).hits.map((h) => h.document.title);
  };

  // The acceptance queries.
  it('ranks the Raspberry Pi UART article first for booting a kernel over the serial line', async () => {
    expect((await titles('boot a kernel over the serial line'))[0]).toMatch(/Raspberry Pi via Uart/i);
  });

  it('ranks the SYN and accept queue article first for SYN queue backlog', async () => {
    expect((await titles('SYN queue backlog'))[0]).toMatch(/Syn and Accept queue/i);
  });

  it('finds the articles that contain the identifier TcpListener', async () => {
    const found = await titles('TcpListener');
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/Getting Started with Networking and Sockets/)]),
    );
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/MU Online Server in Rust/)]));
  });

  // More relevance checks, phrased as a reader would, not as titles.
  it.each([
    ['how does traceroute use TTL to find hops', /Traceroute/],
    ['isolate processes with linux namespaces from a shell script', /Namespaces and Bash/],
    ['what happens after typing an address into the browser', /Type a Url in Your Browser/],
    ['block scoping difference between var and let', /Var vs Let vs Const/],
    ['multi-tenant data separation in django', /SaaS Like Isolation/],
    ['python one-liner to serve files over http', /Serve Your Current Directory/],
    ['network byte order big endian little endian', /Endianness/],
    ['eBPF program that answers port scans', /Fooling Port Scanners/],
    ['safer alternative to rm that moves files to trash', /Safer rm/],
    ['kubernetes job created from go code with client-go', /Kubernetes Jobs in Golang/],
    ['thread safe queue in go with mutex', /concurrent queue in Golang/],
    ['run untrusted code in a sandbox', /sandboxed environment/],
    ['trace system calls with bpftrace and show them in streamlit', /system calls monitoring dashboard/],
    ['makefiles object files and linking in C++', /C\/C\+\+ Build system/],
    ['freestanding rust kernel cross compilation target', /OSDev Bare Bones with Rust/],
    ['broken windows theory software', /Broken Window/],
  ])('finds the right article for "%s"', async (query, expected) => {
    const found = await titles(query);
    expect(
      found.slice(0, 3).some((t) => expected.test(t)),
      `${query} → ${found.slice(0, 3).join(' | ')}`,
    ).toBe(true);
  });

  it('filters by author, tag and date', async () => {
    expect((await titles('queue', '--author', 'narasimha')).every((t) => !/Syn and Accept/.test(t))).toBe(
      true,
    );
    const rust = await shelf(home, 'search', 'server', '--tag', 'rust', '--json');
    const hits = (JSON.parse(rust.stdout) as SearchResult).hits;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.document.tags.map((x) => x.toLowerCase()).includes('rust'))).toBe(true);
    const recent = await shelf(home, 'search', 'rust', '--since', '2025-01-01', '--json');
    expect(
      (JSON.parse(recent.stdout) as SearchResult).hits.every((h) => (h.document.published ?? '') >= '2025'),
    ).toBe(true);
  });

  it('prints title, author, date, heading path, snippet and URL with the section anchor', async () => {
    const r = await shelf(home, 'search', 'SYN queue backlog', '--limit', '1');
    expect(r.stdout).toMatch(
      /^1\. Networking and Sockets: Syn and Accept queue § .+ — Douglas Makey Mendez Molero, 2024-06-21$/m,
    );
    expect(r.stdout).toMatch(
      /https:\/\/forem\.com\/douglasmakey\/networking-and-sockets-syn-and-accept-queue-1lgn#[a-z0-9-]+/,
    );
  });

  it('lists documents and sources', async () => {
    const docs = await shelf(home, 'docs', '--author', 'mesa', '--json');
    expect((JSON.parse(docs.stdout) as { total: number }).total).toBe(9);
    const sources = await shelf(home, 'sources');
    expect(sources.stdout.split('\n').filter((l) => l.includes('feed'))).toHaveLength(3);
  });
});

describe('shelf CLI errors and exit codes', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-cli-err-'));

  it('says the knowledge base does not exist (exit 3)', async () => {
    const r = await shelf(home, 'search', 'x', '--kb', 'nope');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no knowledge base named "nope"/);
    expect(r.stderr).toMatch(/shelf kb create/);
  });

  it('rejects an empty query (exit 2)', async () => {
    await shelf(home, 'kb', 'create', 'default');
    const r = await shelf(home, 'search', '   ');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/query is empty/);
  });

  it('rejects a bad option value with the accepted forms', async () => {
    const r = await shelf(home, 'search', 'x', '--since', 'yesterday-ish');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since.*30d/);
  });

  it('reports a missing path (exit 3) and an unsupported file (exit 5)', async () => {
    const missing = await shelf(home, 'add', '/nonexistent/file.md');
    expect(missing.code).toBe(3);
    const bin = join(home, 'blob.bin');
    (await import('node:fs')).writeFileSync(bin, Buffer.from([0, 1, 2, 3, 255, 254]));
    const unsupported = await shelf(home, 'add', bin);
    expect(unsupported.code).toBe(5);
    expect(unsupported.stderr).toMatch(/Cannot tell what kind of document/);
  });

  it('refuses a duplicate or invalid knowledge base name', async () => {
    await shelf(home, 'kb', 'create', 'books');
    expect((await shelf(home, 'kb', 'create', 'books')).code).toBe(4);
    expect((await shelf(home, 'kb', 'create', '../etc')).stderr).toMatch(/not a valid knowledge base name/);
  });

  it('prints help and exits 0; an unknown command exits 2', async () => {
    expect((await shelf(home, '--help')).code).toBe(0);
    expect((await shelf(home, 'serach', 'x')).code).toBe(2);
  });
});

const BOOKS = ['corpus/books/little-book-about-os-development.pdf', 'corpus/books/PO.Applications.pdf'];

/** The text pdftotext extracts from one page, whitespace folded, lower-cased. */
function pdftotextPage(file: string, page: number): string {
  const r = spawnSync('pdftotext', ['-f', String(page), '-l', String(page), '-layout', file, '-'], {
    encoding: 'utf8',
  });
  if (r.error) throw new Error('pdftotext is missing: apt-get install -y poppler-utils');
  return r.stdout.replace(/\s+/g, ' ').toLowerCase();
}

describe.skipIf(!hasShared(...BOOKS))('shelf search over the shared PDF books', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-cli-books-'));

  beforeAll(async () => {
    const r = await shelf(home, 'add', ...BOOKS.map((b) => sharedPath(b)));
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('lists both books with their page counts', async () => {
    const docs = JSON.parse((await shelf(home, 'docs', '--json')).stdout) as {
      items: { title: string; pageCount: number }[];
    };
    expect(docs.items.map((d) => [d.title, d.pageCount]).sort()).toEqual([
      ['PO.Applications', 86],
      ['The little book about OS development', 78],
    ]);
  });

  it('cites the Little Book pages where "global descriptor table" is written', async () => {
    const r = await shelf(home, 'search', 'global descriptor table', '--all-chunks', '--json');
    const hits = (JSON.parse(r.stdout) as SearchResult).hits.filter((h) =>
      /little book/i.test(h.document.title),
    );
    expect(hits.length).toBeGreaterThan(0);
    const top = hits[0]!;
    expect(top.citation).toMatch(/^The little book about OS development, pp?\. \d+/);
    const pages = Array.from(
      { length: top.chunk.pageEnd! - top.chunk.pageStart! + 1 },
      (_, i) => top.chunk.pageStart! + i,
    );
    const text = pages.map((p) => pdftotextPage(sharedPath(BOOKS[0]!), p)).join(' ');
    expect(text).toContain('global descriptor table');
  });

  it('finds the page of an Oberon procedure from the network chapter', async () => {
    const r = await shelf(home, 'search', 'ReceiveHead', '--json');
    const top = (JSON.parse(r.stdout) as SearchResult).hits[0]!;
    expect(top.document.title).toBe('PO.Applications');
    expect(pdftotextPage(sharedPath(BOOKS[1]!), top.chunk.pageStart!)).toContain('receivehead');
    expect(top.citation).toMatch(/^PO\.Applications, pp?\. \d+/);
  });

  it('indexes no blank page', async () => {
    const r = await shelf(home, 'search', 'the', '--all-chunks', '--limit', '1000', '--json');
    const pages = new Set(
      (JSON.parse(r.stdout) as SearchResult).hits
        .filter((h) => /little book/i.test(h.document.title))
        .flatMap((h) => [h.chunk.pageStart, h.chunk.pageEnd]),
    );
    for (const blank of [2, 10, 18, 32, 38, 46, 50, 52, 60, 64, 76])
      expect(pages.has(blank), `page ${blank}`).toBe(false);
  });

  it('reports no problem pages for books with a text layer', async () => {
    expect((await shelf(home, 'docs', '--problems')).stdout).toBe('No problem pages.\n');
  });
});
