// Incremental checking where it is cheap: a file whose text has not changed since it was last
// parsed is not parsed again. The language server checks a document and the files it imports on
// every edit; with this, an edit re-parses only the edited file (its imports, and the importers
// checked again after an imported file changes, come from here). Checks still run over the whole
// program: they are where a change's effects spread, and they are fast beside parsing.

import type { ParseFn } from '../grammar/resolve.ts';

/** A ParseFn that returns the previous result for a file whose text is unchanged (at most `limit` files kept). */
export function cachedParse(parse: ParseFn, limit = 200): ParseFn {
  const cache = new Map<string, { text: string; result: ReturnType<ParseFn> }>();
  return (text, file) => {
    const hit = cache.get(file);
    if (hit !== undefined && hit.text === text) return hit.result;
    const result = parse(text, file);
    cache.delete(file);
    cache.set(file, { text, result });
    // Maps keep insertion order: the first key is the file parsed longest ago.
    if (cache.size > limit) cache.delete(cache.keys().next().value as string);
    return result;
  };
}
