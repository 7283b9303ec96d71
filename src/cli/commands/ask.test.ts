import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasShared, sharedPath } from '../../test-support/shared.js';
import { runCli, type CliRun } from '../test-support/run-cli.js';

const shelf = (home: string, argv: string[], stdin?: string): Promise<CliRun> =>
  runCli(argv, { home, ...(stdin !== undefined ? { stdin } : {}) });

const FEED = 'corpus/feeds/forem-douglasmakey.xml';

interface JsonAnswer {
  route: { type: string; query: string; followUpOf?: string };
  answer: { text: string; declined: boolean; followUp?: string };
  citations: { n: number; title: string; quote: string }[];
  trace: { stages: { name: string; ms: number }[] };
}

describe('shelf ask: bad input', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-ask-bad-'));

  it('rejects an empty question with a usage error', async () => {
    const r = await shelf(home, ['ask', '   ']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('The question is empty');
  });

  it('rejects a question of 100 KB', async () => {
    const r = await shelf(home, ['ask', 'why '.repeat(25_000)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/characters long; the limit is 2000/);
  });

  it('treats a question of control characters as empty', async () => {
    const r = await shelf(home, ['ask', '\u0000\u0001\u001b\u007f']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('The question is empty');
  });

  it('names a knowledge base that does not exist', async () => {
    const r = await shelf(home, ['ask', 'what is paging?', '--kb', 'nope']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('There is no knowledge base named "nope"');
  });

  it('says an empty knowledge base holds no documents', async () => {
    expect((await shelf(home, ['kb', 'create', 'empty'])).code).toBe(0);
    const r = await shelf(home, ['ask', 'what is paging?', '--kb', 'empty']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('holds no documents yet');
  });

  it('rejects an unknown --route', async () => {
    const r = await shelf(home, ['ask', 'what is paging?', '--route', 'poem']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"poem" is not a question type');
  });
});

describe.skipIf(!hasShared(FEED))('shelf ask and chat over a real feed', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-ask-'));

  beforeAll(async () => {
    const r = await shelf(home, ['add', sharedPath(FEED)]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('answers with citations and a trace of every stage', async () => {
    const r = await shelf(home, ['ask', 'How does the accept queue work?', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as JsonAnswer;
    expect(j.answer.declined).toBe(false);
    expect(j.citations[0]?.title).toMatch(/Syn and Accept queue/);
    expect(j.trace.stages.map((s) => s.name)).toEqual([
      'init',
      'route',
      'primer',
      'retrieve',
      'assemble',
      'answer',
    ]);
    for (const m of j.answer.text.matchAll(/\[(\d+)\]/g))
      expect(j.citations.some((c) => c.n === Number(m[1]))).toBe(true);
  });

  it('prints a readable trace with decoded names and sources', async () => {
    const r = await shelf(home, ['ask', 'How does the accept queue work?', '--trace']);
    expect(r.code, r.stderr).toBe(0);
    for (const stage of ['INIT', 'ROUTE', 'PRIMER', 'RETRIEVE', 'ASSEMBLE', 'ANSWER', 'SOURCES', 'TOTAL'])
      expect(r.stdout).toContain(stage);
    expect(r.stdout).not.toMatch(/%20/);
  });

  it('resolves a follow-up in chat from piped input', async () => {
    const r = await shelf(
      home,
      ['chat', '--json'],
      'How does the accept queue work?\n\nand how do I test that?\n/quit\nnever read\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const answers = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JsonAnswer);
    expect(answers).toHaveLength(2);
    const second = answers[1]!;
    expect(second.route.type).toBe('howto');
    expect(second.route.followUpOf).toBe(answers[0]!.route.query);
    expect(second.route.query).toMatch(/test/);
    expect(second.route.query).toMatch(/accept queue/);
    expect(second.citations.map((c) => c.title)).toContain('Networking and Sockets: Syn and Accept queue');
  });

  it('keeps chatting after a bad line and asks a follow-up question for a vague one', async () => {
    const r = await shelf(home, ['chat', '--json'], '\u0001\u0002\nTell me something interesting\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('The question is empty');
    const j = JSON.parse(r.stdout.trim()) as JsonAnswer;
    expect(j.route.type).toBe('vague');
    expect(j.answer.followUp).toMatch(/Which topic do you mean\?/);
  });
});
