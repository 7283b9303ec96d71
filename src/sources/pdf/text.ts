/**
 * Text clean-up for PDF extraction: ligatures, soft hyphens, Unicode normalisation,
 * undoing end-of-line hyphenation, spotting garbled text layers, and turning a file name
 * into a readable title. Pure functions, no pdf.js.
 */

/** U+FB00–FB06, the Latin ligatures some fonts map glyphs to (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ). */
const LIGATURES: Readonly<Record<string, string>> = {
  '\uFB00': 'ff',
  '\uFB01': 'fi',
  '\uFB02': 'fl',
  '\uFB03': 'ffi',
  '\uFB04': 'ffl',
  '\uFB05': 'st',
  '\uFB06': 'st',
};

const SOFT_HYPHEN = '\u00AD';

/**
 * Expands ligatures, drops soft hyphens and turns no-break and other odd spaces into plain
 * spaces. Safe for code: it changes nothing an ASCII listing can contain.
 */
export function cleanChars(text: string): string {
  return text
    .replace(/[\uFB00-\uFB06]/g, (c) => LIGATURES[c] ?? c)
    .replaceAll(SOFT_HYPHEN, '')
    .replace(/[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u200B\uFEFF]/g, '');
}

/**
 * Prose normalisation: `cleanChars`, then NFKC (compatibility forms such as full-width
 * letters, ellipsis, superscript digits fold to their plain forms). Not applied to code,
 * where NFKC could change meaning (e.g. `x²` → `x2` inside a listing).
 */
export function normaliseProse(text: string): string {
  return cleanChars(text).normalize('NFKC');
}

/**
 * Words that are nearly always joined with a real hyphen when a line breaks after them
 * ("self-\nhosted" stays "self-hosted"). Kept short on purpose: a longer list (multi-,
 * pre-, ex-) would keep the hyphen in ordinary hyphenated words like "multi-\nple".
 */
const COMPOUND_HEADS = new Set(['self', 'non', 'well', 'half', 'cross', 'user', 'kernel', 'read', 'write']);

/**
 * Joins two lines of a paragraph, undoing hyphenation at the break.
 *
 * The rule: when `first` ends with a letter followed by `-` (or a soft hyphen) and `second`
 * starts with a lower-case letter, the hyphen is a line-break hyphen and is dropped
 * ("exam-" + "ple" → "example"), unless the word before the hyphen is a compound head
 * (`COMPOUND_HEADS`), is a single letter ("k-" + "dimensional"), is written in capitals, or contains a digit ("32-" + "bit",
 * "GCC-" + "specific"), in which case the hyphen is kept with no space. When `second`
 * starts with anything else (an upper-case letter, a digit) the hyphen is kept too
 * ("Intel-" + "Manual" → "Intel-Manual"). Otherwise the lines join with one space.
 */
export function joinLines(first: string, second: string): string {
  const a = first.replace(/\s+$/, '');
  const b = second.replace(/^\s+/, '');
  if (a === '') return b;
  if (b === '') return a;
  if (a.endsWith(SOFT_HYPHEN)) return a.slice(0, -1) + b;
  const m = /(\S*?)([\p{L}\d])-$/u.exec(a);
  if (m === null) return `${a} ${b}`;
  const word = (m[1] ?? '') + (m[2] ?? '');
  const nextStartsLower = /^\p{Ll}/u.test(b);
  if (!nextStartsLower) return a + b;
  const head = word.replace(/^.*[^\p{L}\d]/u, '');
  const keep =
    COMPOUND_HEADS.has(head.toLowerCase()) ||
    /\d/.test(head) ||
    head.length === 1 ||
    (head.length > 1 && head === head.toUpperCase());
  return keep ? a + b : a.slice(0, -1) + b;
}

/**
 * Why a page's text layer cannot be trusted, or undefined when it looks like real text.
 * Runs on every page, so the letter and word counts stop as soon as the verdict is known.
 */
export function garbledReason(text: string): string | undefined {
  let chars = 0;
  let bad = 0;
  for (const c of text.replace(/\s+/g, '')) {
    chars++;
    const cp = c.codePointAt(0) ?? 0;
    if (
      cp === 0xfffd ||
      (cp >= 0xe000 && cp <= 0xf8ff) ||
      cp >= 0xf0000 ||
      cp < 0x20 ||
      (cp >= 0x7f && cp < 0xa0)
    )
      bad++;
  }
  if (chars < 20) return undefined;
  if (bad / chars > 0.2)
    return `${Math.round((bad / chars) * 100)}% of the characters are replacement, private-use or control code points`;
  // Words: a run of two or more letters with a vowel (Latin), or any run of non-Latin letters.
  const tokens = text.split(/\s+/).filter((t) => /\p{L}/u.test(t));
  if (tokens.length < 15) return undefined;
  let letters = 0;
  for (const t of tokens) {
    letters += t.match(/\p{L}/gu)?.length ?? 0;
    if (letters >= 40) break;
  }
  if (letters < 40) return undefined;
  let wordLike = 0;
  for (const t of tokens) if (isWordLike(t) && ++wordLike / tokens.length >= 0.1) return undefined;
  return `only ${wordLike} of ${tokens.length} letter tokens look like words`;
}

/** A token with a Latin letter run of two or more that holds a vowel, or any non-Latin letter. */
function isWordLike(token: string): boolean {
  if (/[^\P{L}\p{Script=Latin}]/u.test(token)) return true;
  return (token.match(/[a-z]{2,}/gi) ?? []).some((run) => /[aeiouy]/i.test(run));
}

/**
 * A readable title from a file path or URL: the last segment, percent-decoded
 * ("The%20Little%20Book.pdf" → "The Little Book"), extension stripped, underscores and
 * runs of spaces tidied. Never returns the encoded form.
 */
export function titleFromLocation(location: string): string {
  const withoutQuery = location.replace(/[?#].*$/, '');
  const last = withoutQuery.split(/[\\/]/).filter(Boolean).pop() ?? location;
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    decoded = last.replace(/%20/g, ' ');
  }
  const stem = decoded.replace(/\.pdf$/i, '').replace(/\.[A-Za-z0-9]{1,5}$/, '');
  const tidy = stem.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
  return tidy === '' ? 'Untitled PDF' : tidy;
}

/**
 * True for metadata titles that name the producing program or a file rather than the
 * work ("Microsoft Word - PO.Applications.doc", "untitled", "Slide 1", "book.pdf").
 */
export function isJunkTitle(title: string): boolean {
  const t = title.trim();
  if (t.length < 2) return true;
  if (/^(microsoft (word|powerpoint|excel)\b|untitled\b|document\d*$|slide \d+$)/i.test(t)) return true;
  if (/\.(docx?|pdf|tex|dvi|ps|indd|odt|rtf|txt|qxd)$/i.test(t)) return true;
  if (/%[0-9A-Fa-f]{2}/.test(t)) return true;
  return false;
}

/**
 * Parses a PDF date ("D:20150119123634+01'00'", PDF 32000-1 §7.9.4) into ISO 8601, or
 * undefined when it is absent, malformed, or implausible (before 1990 or in the future).
 */
export function parsePdfDate(raw: string | undefined, now: Date): string | undefined {
  if (raw === undefined) return undefined;
  const m =
    /^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{2}'?|[+-]\d{2})?/.exec(
      raw.trim(),
    );
  if (m === null) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', tz] = m;
  let offset = 'Z';
  if (tz !== undefined && tz !== 'Z') {
    const digits = tz.replace(/'/g, '');
    offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
  }
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  if (date.getUTCFullYear() < 1990 || date.getTime() > now.getTime() + 86_400_000) return undefined;
  return date.toISOString();
}
