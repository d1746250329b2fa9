// The language server's parse cache: an unchanged file's text is not parsed again, a changed one
// is, and what the checker reports through it is what it reports without it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource, parseSource } from '../../grammar/check/check-source.ts';
import type { ParseFn } from '../../grammar/resolve.ts';
import { cachedParse } from '../../lsp/parse-cache.ts';
import { ROOT } from './client.ts';

describe('cachedParse', () => {
  it('parses a file again only when its text changed, and keeps at most `limit` files', () => {
    const calls: string[] = [];
    const counting: ParseFn = (text, file) => {
      calls.push(file);
      return parseSource(text, file);
    };
    const parse = cachedParse(counting, 2);
    const a = parse('let x = 1', 'a.scion');
    expect(parse('let x = 1', 'a.scion')).toBe(a);
    expect(parse('let x = 2', 'a.scion')).not.toBe(a);
    parse('let y = 1', 'b.scion');
    parse('let z = 1', 'c.scion'); // a.scion, parsed longest ago, is dropped
    parse('let x = 2', 'a.scion');
    expect(calls).toEqual(['a.scion', 'a.scion', 'b.scion', 'c.scion', 'a.scion']);
  });

  it('an importing spec checked through it: the same diagnostics, and the import parsed once over two checks', () => {
    const dir = join(ROOT, 'specs');
    const text = 'import "default.scion"\nmodel M = TinyLlama(dim = 48, heds = 2)\n';
    const read = (p: string) => (p === join(dir, 'default.scion') ? readFileSync(p, 'utf8') : undefined);
    const parsed: string[] = [];
    const parse = cachedParse((t, file) => {
      parsed.push(file);
      return parseSource(t, file);
    });
    const main = join(dir, 'main.scion');
    const plain = checkSource(text, main, read);
    const first = checkSource(text, main, read, { parse });
    const second = checkSource(`${text}\n`, main, read, { parse });
    expect(first.diagnostics).toEqual(plain.diagnostics);
    expect(second.diagnostics.map((d) => d.code)).toEqual(plain.diagnostics.map((d) => d.code));
    expect(plain.diagnostics.length).toBeGreaterThan(0);
    expect(parsed.filter((f) => f.endsWith('default.scion'))).toHaveLength(1);
    expect(parsed.filter((f) => f.endsWith('main.scion'))).toHaveLength(2);
  });
});
