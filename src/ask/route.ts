/**
 * Route: classifies a question and reads its filters, with rules that are cheap and
 * explainable (the trace names the rule that fired). Pure: the knowledge base's authors,
 * tags and sources and the current time arrive as arguments.
 *
 * Order of work:
 * 1. filters are read and their words cut from the question (time from `now`, authors by
 *    full, first or last name, explicit tags, named sources);
 * 2. a follow-up ("and how do I test that?") borrows the previous turn's topic and filters;
 * 3. the first matching type rule wins; a question left with no content words is `vague`;
 * 4. the query for retrieval is what remains without question boilerplate.
 */
import { analyze, fold, stemWord } from '../text/analyze.js';
import { STOP_WORDS } from '../text/stopwords.js';
import type { AskFilters, Route, RouteType, Turn } from './types.js';

export interface RouteInput {
  readonly question: string;
  readonly history?: readonly Turn[];
  readonly authors: readonly { readonly name: string; readonly documents: number }[];
  readonly tags: readonly { readonly name: string; readonly documents: number }[];
  readonly sources: readonly { readonly id: number; readonly title?: string; readonly location: string }[];
  readonly now: Date;
  /** A type chosen by the caller (`--route`): skips classification, keeps filters. */
  readonly forced?: RouteType;
}

/** Words that carry no topic: a question made only of these (and stop words) is vague. */
const GENERIC = new Set(
  (
    'how what thing things stuff something anything everything work works working explain tell know help ' +
    'interesting good best more info information question questions topic topics learn me please about ' +
    'general generally cool important new programming computer computers software technology tech coding ' +
    'computing anyth can could may might must shall ok okay yes no hi hello hey thanks thank great nice ' +
    'mean meant say said talk think idea ideas point points other else again also like read reading ' +
    'recommend suggest start look find thought thoughts opinion'
  ).split(' '),
);

/** Question boilerplate cut from the retrieval query (besides stop words, which BM25 drops). */
const BOILERPLATE = new Set(
  (
    'please tell explain describe show give know want need wondering curious overview summary summarize summarise ' +
    'summarization compare comparison difference differences differ versus vs list enumerate name brief briefly ' +
    'quick quickly short detail details detailed main key idea ideas point points takeaway takeaways gist nutshell ' +
    'tl dr step steps example examples code snippet snippets sample how what can could would me guide walk through ' +
    'article articles post posts blog blogs book books document documents paper papers wrote written write ' +
    'writes publish published shelf library knowledge base something anything everything say says said ' +
    'chapter chapters section sections'
  ).split(' '),
);

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const MONTH = `(${MONTHS.join('|')}|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)`;

interface Cut {
  readonly start: number;
  readonly end: number;
}

function monthIndex(word: string): number {
  const w = word.toLowerCase();
  return MONTHS.findIndex((m) => m === w || m.startsWith(w));
}

function utc(y: number, m = 0, d = 1): Date {
  return new Date(Date.UTC(y, m, d));
}

/** Time filters: "last month", "past 3 weeks", "this year", "in 2024", "since March", "before 2020". */
function readTime(text: string, now: Date): { filters: AskFilters; note: string; cuts: Cut[] } | undefined {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const rules: { re: RegExp; make: (g: RegExpExecArray) => AskFilters }[] = [
    {
      re: /\b(?:in |over |during |within )?(?:the )?(?:last|past|previous) (?:(\d+|two|three|four|five|six) )?(day|week|month|year)s?\b/i,
      make: (g) => {
        const words: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, six: 6 };
        const raw = g[1]?.toLowerCase();
        const n = raw === undefined ? 1 : (words[raw] ?? Number(raw));
        const unit = (g[2] ?? 'day').toLowerCase();
        const d = new Date(now.getTime());
        if (unit === 'day') d.setUTCDate(d.getUTCDate() - n);
        else if (unit === 'week') d.setUTCDate(d.getUTCDate() - 7 * n);
        else if (unit === 'month') d.setUTCMonth(d.getUTCMonth() - n);
        else d.setUTCFullYear(d.getUTCFullYear() - n);
        return { since: d.toISOString() };
      },
    },
    {
      re: /\bthis (week|month|year)\b/i,
      make: (g) => {
        const unit = (g[1] ?? 'year').toLowerCase();
        if (unit === 'year') return { since: utc(y).toISOString() };
        if (unit === 'month') return { since: utc(y, m).toISOString() };
        const d = utc(y, m, now.getUTCDate() - ((now.getUTCDay() + 6) % 7));
        return { since: d.toISOString() };
      },
    },
    {
      re: new RegExp(`\\b(since|after|from|in|during|before) ${MONTH}(?: (\\d{4}))?\\b`, 'i'),
      make: (g) => {
        const mi = monthIndex(g[2] ?? '');
        // Without a year: the most recent such month that has begun.
        const year = g[3] !== undefined ? Number(g[3]) : mi <= m ? y : y - 1;
        const start = utc(year, mi).toISOString();
        const next = utc(year, mi + 1).toISOString();
        const word = (g[1] ?? '').toLowerCase();
        if (word === 'before') return { until: start };
        if (word === 'in' || word === 'during') return { since: start, until: next };
        return { since: start };
      },
    },
    {
      re: /\b(since|after|from|in|during|before) (\d{4})\b/i,
      make: (g) => {
        const year = Number(g[2]);
        const word = (g[1] ?? '').toLowerCase();
        if (word === 'before') return { until: utc(year).toISOString() };
        if (word === 'after') return { since: utc(year + 1).toISOString() };
        if (word === 'in' || word === 'during')
          return { since: utc(year).toISOString(), until: utc(year + 1).toISOString() };
        return { since: utc(year).toISOString() };
      },
    },
  ];
  for (const rule of rules) {
    const g = rule.re.exec(text);
    if (!g) continue;
    const year = /\d{4}/.exec(g[0]);
    if (year && (Number(year[0]) < 1900 || Number(year[0]) > 2200)) continue;
    return {
      filters: rule.make(g),
      note: `time "${g[0].trim()}"`,
      cuts: [{ start: g.index, end: g.index + g[0].length }],
    };
  }
  return undefined;
}

interface Word {
  readonly text: string;
  readonly lower: string;
  readonly start: number;
  readonly end: number;
}

function words(text: string): Word[] {
  return [...text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}_'’.-]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu)].map((w) => ({
    text: w[0],
    lower: fold(w[0]).replace(/['’]s$/, ''),
    start: w.index,
    end: w.index + w[0].length,
  }));
}

const AUTHOR_CONTEXT = /\b(by|from|has|have|did|does|of)\s*$/i;
const AUTHOR_AFTER = /^(['’]s\b|\s+(wrote|written|write|writes|published|posted|say|said|think|thinks))/i;

/** Authors by full, first or last name; lower-case names count only next to "by", "'s", "wrote"... */
function readAuthor(
  text: string,
  authors: RouteInput['authors'],
): { author: string; note: string; cuts: Cut[] } | undefined {
  const ws = words(text);
  let best: { author: string; score: number; cuts: Cut[]; matched: string[] } | undefined;
  for (const a of authors) {
    const nameTokens = words(a.name)
      .map((w) => w.lower)
      .filter((t) => t.length >= 3);
    if (nameTokens.length === 0) continue;
    const cuts: Cut[] = [];
    const matched: string[] = [];
    for (const w of ws) {
      const hit = nameTokens.some(
        (t) =>
          t === w.lower ||
          (nameTokens.length === 1 &&
            w.lower.length >= 4 &&
            t.endsWith(w.lower) &&
            t.length - w.lower.length <= 2),
      );
      if (!hit) continue;
      const capitalised = /^\p{Lu}/u.test(w.text);
      const context = AUTHOR_CONTEXT.test(text.slice(0, w.start)) || AUTHOR_AFTER.test(text.slice(w.end));
      if (!capitalised && !context) continue;
      // Sentence-initial capitals say nothing; require context there.
      if (w.start === 0 && !context && nameTokens.length > 0 && STOP_WORDS.has(w.lower)) continue;
      cuts.push({ start: w.start, end: w.end + (/^['’]s\b/.exec(text.slice(w.end))?.[0].length ?? 0) });
      matched.push(w.text);
    }
    if (cuts.length === 0) continue;
    const score = cuts.length * 1000 + a.documents;
    if (!best || score > best.score) best = { author: a.name, score, cuts, matched };
  }
  if (!best) return undefined;
  // Also cut "by"/"from" right before the first name word.
  const first = best.cuts[0];
  const extra: Cut[] = [];
  if (first) {
    const before = /\b(written by|by|from)\s+$/i.exec(text.slice(0, first.start));
    if (before) extra.push({ start: before.index, end: first.start });
  }
  return {
    author: best.author,
    note: `author "${best.matched.join(' ')}" → ${best.author}`,
    cuts: [...best.cuts, ...extra],
  };
}

/** Explicit tags only ("tagged rust", "#rust", "rust posts", "articles about rust"), matched to known tags. */
function readTag(
  text: string,
  tags: RouteInput['tags'],
): { tag: string; note: string; cuts: Cut[] } | undefined {
  const known = new Map(tags.map((t) => [fold(t.name), t.name]));
  const patterns = [
    /\btagged(?: with| as)? ["'#]?([\p{L}\p{N}+#.-]+)/iu,
    /\btag ["'#]?([\p{L}\p{N}+#.-]+)/iu,
    /(?:^|\s)#([\p{L}\p{N}+.-]+)/u,
    /\b([\p{L}\p{N}+#.-]+) (?:articles|posts|entries)\b/iu,
    /\b(?:articles|posts|entries) (?:about|on|tagged) ([\p{L}\p{N}+#.-]+)/iu,
  ];
  for (const re of patterns) {
    const g = re.exec(text);
    const name = g?.[1] ? fold(g[1]) : undefined;
    if (!g || name === undefined) continue;
    const tag = known.get(name);
    if (tag === undefined) continue;
    const start = g.index + (g[0].length - g[0].trimStart().length);
    return { tag, note: `tag "${g[0].trim()}" → ${tag}`, cuts: [{ start, end: g.index + g[0].length }] };
  }
  return undefined;
}

/** "in the little book about OS development", "from the Nicolas Mesa feed": a named source. */
function readSource(
  text: string,
  sources: RouteInput['sources'],
): { sourceId: number; note: string; cuts: Cut[] } | undefined {
  const re = /\b(?:in|from) (?:the|my) ([\p{L}\p{N}'’ .:-]{2,80}?) (book|feed|blog|pdf|source)\b/iu;
  const g = re.exec(text);
  if (!g) return undefined;
  const wanted = contentStems(g[1] ?? '');
  if (wanted.length === 0) return undefined;
  let best: { id: number; score: number; name: string } | undefined;
  for (const s of sources) {
    const name = s.title ?? s.location;
    const have = new Set(contentStems(`${name} ${s.location.replace(/[/_.-]+/g, ' ')}`));
    const hits = wanted.filter((w) => have.has(w)).length;
    if (hits === wanted.length && (!best || have.size < best.score))
      best = { id: s.id, score: have.size, name };
  }
  if (!best) return undefined;
  return {
    sourceId: best.id,
    note: `source "${g[0]}" → ${best.name}`,
    cuts: [{ start: g.index, end: g.index + g[0].length }],
  };
}

/** Stemmed content words (no stop words). */
function contentStems(text: string): string[] {
  return analyze(text)
    .filter((t) => !t.stop && !t.compound)
    .map((t) => t.term);
}

function cutOut(text: string, cuts: readonly Cut[]): string {
  const sorted = [...cuts].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const c of sorted) {
    if (c.start < at) {
      at = Math.max(at, c.end);
      continue;
    }
    out += text.slice(at, c.start) + ' ';
    at = c.end;
  }
  return (out + text.slice(at)).replace(/\s+/g, ' ').trim();
}

/** The words of `text` that name a topic: not stop words, not generic, not boilerplate. */
export function topicWords(text: string): string[] {
  return words(text)
    .map((w) => w.lower)
    .filter((w) => !STOP_WORDS.has(w) && !GENERIC.has(w) && !BOILERPLATE.has(w) && !/^\d{1,2}$/.test(w));
}

function stripBoilerplate(text: string): string {
  const kept = words(text).filter(
    (w) => !BOILERPLATE.has(w.lower) && !GENERIC.has(w.lower) && !STOP_WORDS.has(w.lower),
  );
  return kept.map((w) => w.text).join(' ');
}

const CATALOG_RULES: { name: string; re: RegExp }[] = [
  {
    name: 'catalog:which-documents',
    re: /\b(which|what|any) (books?|articles?|posts?|documents?|papers?|pdfs?|feeds?|sources?|authors?|tags?|blogs?)\b/i,
  },
  {
    name: 'catalog:how-many',
    re: /\bhow many (books?|articles?|posts?|documents?|papers?|pdfs?|feeds?|sources?|authors?)\b/i,
  },
  {
    name: 'catalog:list-documents',
    re: /\b(list|show)(?: me)? (?:all |the |my |every )*(books?|articles?|posts?|documents?|papers?|authors?|tags?|sources?|feeds?)\b/i,
  },
  { name: 'catalog:who-wrote', re: /\bwho (wrote|writes|authored|is the author)\b/i },
  { name: 'catalog:shelf-contents', re: /\b(on|in) (my|the|this) (shelf|library|knowledge ?base)\b/i },
  { name: 'catalog:do-i-have', re: /\b(do i have|have i (saved|added|got))\b/i },
];
const AUTHOR_CATALOG =
  /\b(has|have|did|does)\b[^?]*\b(write|written|wrote|publish|published|post|posted|blogged)\b/i;

const TYPE_RULES: { type: RouteType; name: string; re: RegExp }[] = [
  {
    type: 'comparison',
    name: 'comparison:keyword',
    re: /\b(compare|comparing|comparison|versus|vs\.?|difference between|differences between|differ from|distinguish)\b|\bhow (?:do|does|is|are) .+ differ\b|\b(better|faster|slower|worse) than\b/i,
  },
  {
    type: 'summary',
    name: 'summary:keyword',
    re: /\b(overview|summary|summari[sz]e|tl;?dr|gist|main (ideas?|points?|topics?)|key (ideas|points|takeaways|concepts)|in a nutshell|big picture|what is .+ about|what does .+ cover|introduction to)\b/i,
  },
  {
    type: 'list',
    name: 'list:keyword',
    re: /^(list|enumerate|name)\b|\bwhat are (the|some|all)(?: \w+)? (steps|types|kinds|ways|options|reasons|tools|examples|advantages|benefits|drawbacks|disadvantages|features|components|parts|stages|phases|problems|fields|registers|flags|limitations|requirements|prerequisites)\b|\bwhich (tools|options|steps|fields|registers|flags|commands)\b/i,
  },
  {
    type: 'code',
    name: 'code:keyword',
    re: /\b(code|snippet|source code|implement(?:ed|ation)?|function|struct|syntax|show me how .+ (?:in|with) (rust|go|golang|python|c|javascript|typescript|bash|assembly))\b|`[^`]+`|\w+\(\)|\w::\w/i,
  },
  {
    type: 'howto',
    name: 'howto:how-do-i',
    re: /^(?:and |so |then |ok,? )?(how (do|can|should|would|could|might) (i|you|we|one)|how to|steps to|what steps|walk me through|guide (me )?to)\b|\bhow (do|can|should) (i|we)\b/i,
  },
];

const FOLLOW_UP_START = /^(and|also|but|so|then|what about|how about|ok(ay)?|and what|and how|what else)\b/i;
const ANAPHORA = /\b(it|its|that|this|them|those|these|they|there|the same|him|her|he|she)\b/i;

/** Classifies a question and reads its filters. */
export function route(input: RouteInput): Route {
  const question = input.question.replace(/\s+/g, ' ').trim();
  const cuts: Cut[] = [];
  const filterNotes: string[] = [];
  let filters: AskFilters = {};

  const time = readTime(question, input.now);
  if (time) {
    filters = { ...filters, ...time.filters };
    filterNotes.push(time.note);
    cuts.push(...time.cuts);
  }
  const author = readAuthor(question, input.authors);
  if (author) {
    filters = { ...filters, author: author.author };
    filterNotes.push(author.note);
    cuts.push(...author.cuts);
  }
  const tag = readTag(question, input.tags);
  if (tag) {
    filters = { ...filters, tag: tag.tag };
    filterNotes.push(tag.note);
    cuts.push(...tag.cuts);
  }
  const source = readSource(question, input.sources);
  if (source) {
    filters = { ...filters, sourceId: source.sourceId };
    filterNotes.push(source.note);
    cuts.push(...source.cuts);
  }
  const rest = cutOut(question, cuts);
  let query = stripBoilerplate(rest);
  let topics = topicWords(rest);

  // Follow-up: a continuation, or a pronoun with little topic of its own, borrows the last topic.
  let followUpOf: string | undefined;
  const previous = input.history?.[input.history.length - 1];
  if (previous && previous.route.type !== 'vague' && previous.route.query !== '') {
    const continues = FOLLOW_UP_START.test(question);
    const pointsBack = ANAPHORA.test(question) && topics.length <= 3;
    if (continues || pointsBack || topics.length === 0) {
      followUpOf = previous.route.query;
      query = `${query} ${previous.route.query}`.trim();
      topics = [...topics, ...topicWords(previous.route.query)];
      filters = { ...previous.route.filters, ...filters };
      if (Object.keys(previous.route.filters).length > 0 && filterNotes.length === 0)
        filterNotes.push('filters kept from the previous question');
    }
  }

  const base = { filters, filterNotes, ...(followUpOf !== undefined ? { followUpOf } : {}) };
  if (input.forced) return { ...base, type: input.forced, rule: 'forced by --route', query: query || rest };

  for (const rule of CATALOG_RULES)
    if (rule.re.test(question)) return { ...base, type: 'catalog', rule: rule.name, query };
  if (filters.author !== undefined && AUTHOR_CATALOG.test(question))
    return { ...base, type: 'catalog', rule: 'catalog:author-wrote', query };

  if (topics.length === 0) {
    // With filters but no topic ("anything from last month?") the shelf itself is the subject.
    if (Object.keys(filters).length > 0)
      return { ...base, type: 'catalog', rule: 'catalog:filters-only', query };
    return { ...base, type: 'vague', rule: 'vague:no-topic-words', query };
  }

  for (const rule of TYPE_RULES) {
    if (!rule.re.test(question)) continue;
    if (rule.type === 'comparison') {
      const sides = readSides(rest);
      return { ...base, type: 'comparison', rule: rule.name, query, ...(sides ? { sides } : {}) };
    }
    return { ...base, type: rule.type, rule: rule.name, query };
  }
  const rule = /^(what|who|when|where|why|which|is|are|does|do|can|how)\b/i.test(question)
    ? 'lookup:question-word'
    : 'lookup:default';
  return { ...base, type: 'lookup', rule, query };
}

/** The two things compared: "X vs Y", "difference between X and Y", "compare X with Y". */
function readSides(text: string): readonly [string, string] | undefined {
  const patterns = [
    /\bbetween (.+?) and (.+?)(?:[?.!]|$)/i,
    /\bcompar(?:e|ing|ison of) (.+?) (?:and|with|to|vs\.?|versus) (.+?)(?:[?.!]|$)/i,
    /(?:^|\b(?:is|are|of|use|choose|prefer|between)\s+)([^,?]+?) (?:vs\.?|versus|or) ([^,?]+?)(?:[?.!]|$)/i,
    /\bhow (?:do|does|is|are) (.+?) differ (?:from|to) (.+?)(?:[?.!]|$)/i,
    /(.+?) (?:better|faster|slower|worse) than (.+?)(?:[?.!]|$)/i,
  ];
  for (const re of patterns) {
    const g = re.exec(text);
    const a = g?.[1] ? stripBoilerplate(g[1]) : '';
    const b = g?.[2] ? stripBoilerplate(g[2]) : '';
    if (a !== '' && b !== '') return [a, b];
  }
  return undefined;
}

/** Exposed for tests: stems of the topic words (what the vagueness rule counts). */
export function topicStems(text: string): string[] {
  return topicWords(text).map((w) => stemWord(w));
}
