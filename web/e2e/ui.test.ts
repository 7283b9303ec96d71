/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), against `shelf serve` on 127.0.0.1 over a knowledge base seeded from
 * the shared corpus (two feeds and the two PDFs). Every wait is on a DOM condition.
 * Screenshots of each page go to test-artifacts/ (gitignored) for a person to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../src/ask/trace.js';
import { addSource, type IngestContext } from '../../src/ingest/ingest.js';
import { createApiKey } from '../../src/server/auth.js';
import { WEB_DIST } from '../../src/server/static.js';
import { authoredFeed, startTestApi, type TestApi } from '../../src/server/test-support.js';
import { hasShared, PROJECT_ROOT, sharedPath } from '../../src/test-support/shared.js';
import { ingestContext } from '../../src/app.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
const CORPUS = [
  'corpus/feeds/devto-nicolasmesa.xml',
  'corpus/feeds/forem-douglasmakey.xml',
  'corpus/books/little-book-about-os-development.pdf',
  'corpus/books/PO.Applications.pdf',
];

interface Citation {
  n: number;
  documentId: number;
  pageStart?: number;
  chunkIds: number[];
  quote: string;
}

/** Builds the UI when this checkout has not been built yet (npm test builds it first). */
async function ensureBuilt(): Promise<void> {
  if (existsSync(join(WEB_DIST, 'index.html'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(PROJECT_ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
}

async function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    viewport: { width: 1360, height: 900 },
    timeout: 20_000,
  });
}

const shot = (page: Page, name: string): Promise<Buffer> =>
  page.screenshot({ path: join(ARTIFACTS, `ui-${name}.png`), fullPage: false });

describe.skipIf(!existsSync(CHROMIUM) || !hasShared(...CORPUS))('the web UI in Chromium', () => {
  let api: TestApi;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  /** Requests that left 127.0.0.1: the UI must make none. */
  const outside: string[] = [];

  /** The server's own answer, to know which citation should land where. */
  const expected = async (question: string): Promise<Citation[]> => {
    const r = await api.call('/v1/knowledgebases/default/answers', { method: 'POST', json: { question } });
    return ((await r.json()) as { citations: Citation[] }).citations;
  };

  /** Asks in the UI and waits until the answer has finished streaming. */
  const ask = async (question: string): Promise<ReturnType<Page['locator']>> => {
    const before = await page.locator('.turn').count();
    await page.keyboard.press('/');
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('question');
    await page.keyboard.type(question);
    await page.keyboard.press('Enter');
    const turn = page.locator('.turn').nth(before);
    await turn.locator('.answer[data-done="true"]').waitFor();
    return turn;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureBuilt();
    api = await startTestApi({ server: { roots: [sharedPath('corpus')] } });
    const kb = await api.app.store.createKnowledgeBase('default');
    const ctx: IngestContext = ingestContext(api.app);
    for (const f of CORPUS) await addSource(ctx, { kb, location: sharedPath(...f.split('/')) });
    profile = mkdtempSync(join(tmpdir(), 'shelf-chromium-'));
    context = await launch(profile);
    context.setDefaultTimeout(15_000);
    context.on('request', (req) => {
      const url = new URL(req.url());
      if (!['127.0.0.1', ''].includes(url.hostname) && !['data:', 'blob:'].includes(url.protocol))
        outside.push(req.url());
    });
    page = await context.newPage();
    await page.goto(api.server.url + '/');
    await page.getByRole('heading', { name: 'Ask your shelf' }).waitFor();
  }, 80_000);

  afterAll(async () => {
    await context?.close();
    await api?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('streams an answer with citations whose quote shows on hover and opens the article section', async () => {
    const question = 'how does the UART bootloader load the kernel?';
    const citations = await expected(question);
    const turn = await ask(question);
    expect(await turn.locator('.route .route-type').textContent()).toBe('lookup');
    const cite = turn.locator('.cite').first();
    const n = Number(await cite.getAttribute('data-n'));
    const c = citations.find((x) => x.n === n);
    expect(c).toBeDefined();
    await cite.hover();
    const tip = turn.locator('.cite-wrap').first().locator('.tip');
    await tip.waitFor({ state: 'visible' });
    expect(await tip.locator('q').textContent()).toBe(c!.quote);
    await shot(page, 'ask-answer');

    await cite.click();
    const highlighted = page.locator('.source-panel .chunk.hl').first();
    await highlighted.waitFor();
    expect(Number(await highlighted.getAttribute('data-chunk'))).toBe(c!.chunkIds[0]);
    await expect.poll(() => highlighted.locator('mark').textContent()).toBe(c!.quote);
    expect(await highlighted.isVisible()).toBe(true);
    await shot(page, 'ask-article-source');
  });

  it('opens a PDF citation at its page in the built-in viewer', async () => {
    const question = 'what is the multiboot header for?';
    const citations = await expected(question);
    const pdfCitation = citations.find((c) => c.pageStart !== undefined);
    expect(pdfCitation).toBeDefined();
    const turn = await ask(question);
    await turn.locator(`.cite[data-n="${pdfCitation!.n}"]`).first().click();
    const pageNo = page.locator(`.source-panel .page-no[data-page="${pdfCitation!.pageStart}"]`);
    await pageNo.waitFor();
    expect(await pageNo.textContent()).toContain(`Page ${pdfCitation!.pageStart} of 78`);
    // The page was drawn: the canvas holds more than one colour.
    const inked = await page.evaluate<number>(`(() => {
      const canvas = document.querySelector('.source-panel canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark++;
      return dark;
    })()`);
    expect(inked).toBeGreaterThan(100);
    await shot(page, 'ask-pdf-source');
  });

  it('continues the conversation with a follow-up and shows every stage of its trace', async () => {
    const turn = await ask('and how do I test it?');
    await turn.locator('.route .chip', { hasText: 'follows' }).waitFor();
    await turn.getByRole('button', { name: /Show trace/ }).click();
    const stages = turn.locator('.trace .stage');
    await stages.first().waitFor();
    const names: (string | null)[] = [];
    for (let i = 0; i < (await stages.count()); i++)
      names.push(await stages.nth(i).getAttribute('data-stage'));
    expect(names).toEqual([...STAGES]);
    for (const ms of await turn.locator('.trace .ms').allTextContents())
      expect(ms).toMatch(/^\d+(\.\d+)? ms$/);
    await turn.locator('[data-stage="assemble"] summary').click();
    const context = turn.locator('[data-stage="assemble"] pre.context');
    await context.waitFor();
    expect(await context.textContent()).toMatch(/^\[1\] /);
    expect(await turn.locator('[data-stage="retrieve"] .candidates tbody tr').count()).toBeGreaterThan(0);
    await page.locator('.source-panel [aria-label="Close the source"]').click();
    await turn.locator('[data-stage="retrieve"]').scrollIntoViewIfNeeded();
    await shot(page, 'trace');
  });

  it('uploads a feed file in the library and follows its job to completion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-upload-'));
    const feed = join(dir, 'ui-feed.xml');
    writeFileSync(
      feed,
      authoredFeed([
        {
          guid: 'ui-1',
          title: 'Queues in the browser test',
          body: 'A job queue moves work out of the request.',
          author: 'Test Author',
          date: 'Mon, 01 Jan 2024 10:00:00 GMT',
        },
        {
          guid: 'ui-2',
          title: 'Polling progress',
          body: 'The client polls the job until it has finished.',
          author: 'Test Author',
          date: 'Tue, 02 Jan 2024 10:00:00 GMT',
        },
      ]),
    );
    await page.getByRole('link', { name: 'Library' }).click();
    await page.getByRole('heading', { name: 'Sources (4)' }).waitFor();
    await page.getByLabel(/Upload a file/).setInputFiles(feed);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const job = page.locator('.job').first();
    await job.waitFor();
    await page.locator('.job[data-state="succeeded"]').waitFor();
    expect(await job.locator('.muted').textContent()).toContain('2 added');
    await page.locator('.sources-table .source-title', { hasText: 'Authored feed' }).waitFor();
    expect(await page.locator('.sources-table tbody tr').count()).toBe(5);
    await shot(page, 'library');
    rmSync(dir, { recursive: true, force: true });
  });

  it('browses documents by author and reads one as its sections', async () => {
    await page.getByRole('link', { name: 'Documents' }).click();
    await page.locator('.doc-list li').first().waitFor();
    await page.getByRole('searchbox', { name: 'Author' }).fill('Nicolas Mesa');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect
      .poll(async () => {
        const metas = await page.locator('.doc-list li .muted').allTextContents();
        return metas.length > 0 && metas.every((m) => m.includes('Nicolas Mesa'));
      })
      .toBe(true);
    await shot(page, 'documents');
    await page.locator('.doc-list .doc-title').first().click();
    await page.locator('.reader .chunk').first().waitFor();
    expect(await page.locator('.reader .chunk h3').count()).toBeGreaterThan(0);
    await shot(page, 'document');
  });

  it('follows the system dark mode and fits a phone screen', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Ask' }).click();
    const bg = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    expect(bg).toBe('rgb(21, 23, 27)');
    // Elements reaching past the right edge of the screen.
    const overflow = await page.evaluate<string[]>(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => e.tagName.toLowerCase() + '.' + e.className)`);
    expect(overflow).toEqual([]);
    await shot(page, 'dark-phone');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it('made no request beyond the shelf server', () => {
    expect(outside).toEqual([]);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('the web UI when the server needs an API key', () => {
  let api: TestApi;
  let context: BrowserContext;
  let profile: string;
  let key = '';

  beforeAll(async () => {
    await ensureBuilt();
    api = await startTestApi({
      server: { requireKeys: true },
      before: async (app) => {
        key = (await createApiKey(app.store, 'ui')).key;
        await app.store.createKnowledgeBase('keyed');
      },
    });
    profile = mkdtempSync(join(tmpdir(), 'shelf-chromium-'));
    context = await launch(profile);
    context.setDefaultTimeout(15_000);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    // The last test has closed the HTTP server already.
    await api?.close().catch(() => undefined);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('asks for a key, keeps it and sends it as a Bearer token', async () => {
    const page = await context.newPage();
    await page.goto(api.server.url + '/library');
    await page.getByText('This server needs an API key.').waitFor();
    await shot(page, 'api-key');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Save key' }).click();
    await page.locator('.kb-card', { hasText: 'keyed' }).waitFor();
    expect(await page.getByText('This server needs an API key.').count()).toBe(0);
    expect(await page.evaluate<string | null>("localStorage.getItem('shelf.apiKey')")).toBe(key);
  });

  it('says so plainly when the server cannot be reached', async () => {
    const page = await context.newPage();
    await page.goto(api.server.url + '/');
    await page.locator('select').first().waitFor();
    await api.server.close();
    await page.getByRole('link', { name: 'Library' }).click();
    await page.getByText('The shelf server cannot be reached.').first().waitFor();
    await shot(page, 'unreachable');
  });
});
