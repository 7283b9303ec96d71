/**
 * Sentence splitting for prose (never for code: callers pass code blocks whole).
 * A sentence ends at `.`, `!` or `?` (optionally followed by closing quotes or brackets)
 * when whitespace and an upper-case letter, digit, quote or bracket follow, except after
 * known abbreviations, single initials, and inside numbers or dotted identifiers
 * (`e.g.`, `Fig. 3`, `3.14`, `os.path.join`). A line break before a list marker also ends one.
 */

const ABBREVIATIONS = new Set(
  (
    'e.g i.e etc vs cf al fig figs eq eqs ch sec no nos vol pp p approx dept est min max mr mrs ms dr prof sr jr st ' +
    'inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec resp ca incl'
  ).split(' '),
);

/** The sentences of `text` with their character spans. */
export interface Sentence {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const BOUNDARY = /([.!?…]+)(["'”’)\]]*)(\s+)(?=["'“‘([]?[\p{Lu}\p{N}])|\n\s*(?=[-*•]\s|\d+[.)]\s)/gu;

function endsWithAbbreviation(before: string): boolean {
  const m = /([\p{L}.]+)$/u.exec(before);
  if (!m) return false;
  const word = (m[1] ?? '').toLowerCase().replace(/\.$/, '');
  if (ABBREVIATIONS.has(word)) return true;
  // A single initial ("J. Smith") or a dotted acronym ("U.S.").
  return /^\p{L}$/u.test(word) || /^(\p{L}\.)+\p{L}$/u.test(word);
}

export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  let start = 0;
  const emit = (end: number): void => {
    const raw = text.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    if (trimmed !== '') out.push({ text: trimmed, start: start + lead, end: start + lead + trimmed.length });
  };
  for (const m of text.matchAll(BOUNDARY)) {
    const punct = m[1];
    if (punct !== undefined) {
      const before = text.slice(start, m.index);
      if (punct === '.' && endsWithAbbreviation(before)) continue;
      const end = m.index + punct.length + (m[2]?.length ?? 0);
      emit(end);
      start = end;
    } else {
      emit(m.index);
      start = m.index;
    }
  }
  emit(text.length);
  return out;
}

/** Approximate model tokens of `text` (about four characters a token for English and code). */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
