/**
 * English stop words dropped from queries (never from the index, so phrase and
 * proximity evidence survives). A short list of function words, written for shelf:
 * long lists hurt technical queries ("how", "not", "can" carry meaning there).
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be been being but by did do does doing for from had has have having he her hers him his ' +
    'i if in into is it its itself me my of on or our ours she so such than that the their theirs them then there ' +
    'these they this those to too us was we were what when where which while who whom why will with would you your yours ' +
    'about above after again against all am any because before below between both during each few further here ' +
    'just more most nor now once only other out over own same should some under until up very'
  ).split(' '),
);
