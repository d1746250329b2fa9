// Issue 19: a large file's parse holds one declaration's CST and a few tokens behind the parse
// position, not the whole file's (they were 40 KB and 6 KB per small model: gigabytes for a 10 MB
// spec). Checked by watching what is still reachable each time a top-level item is handed over,
// not by timing; the wall-clock and memory bound is bench/large-inputs.ts (`check-10mb`).

import type { CstNode, IToken } from 'chevrotain';
import { describe, expect, it } from 'vitest';
import { extent } from '../../../grammar/dsl/cst.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { scionParser } from '../../../grammar/dsl/parser.ts';

const model = (i: number): string =>
  `model M${i}(dim = 16) {\n  input x: f32[batch, dim]\n  h = Linear(x, dim) as proj\n  output y = Linear(h, 3) as head\n}\n\n`;

interface Seen {
  items: number;
  /** Most tokens before an item's start still in the parser's input when it is handed over. */
  maxTokensBehind: number;
  /** Earlier items whose CST was still there when a later one was handed over. */
  keptCsts: number;
}

/** Parses `text`, looking at the parser's state each time it hands an item over. */
function watch(text: string): { seen: Seen; result: ReturnType<typeof parseProgram> } {
  const parser = scionParser();
  const seen: Seen = { items: 0, maxTokensBehind: 0, keptCsts: 0 };
  const earlier: CstNode[] = [];
  let inner: ((item: CstNode) => void) | undefined;
  const look = (item: CstNode): void => {
    const start = extent(item)?.start ?? Number.POSITIVE_INFINITY;
    const behind = (parser.input as IToken[]).filter((t) => t.image !== '' && t.startOffset < start).length;
    seen.maxTokensBehind = Math.max(seen.maxTokensBehind, behind);
    seen.keptCsts += earlier.filter((e) => Object.keys(e.children).length > 0).length;
    seen.items++;
    inner!(item);
    earlier.push(item);
  };
  Object.defineProperty(parser, 'onTopItem', {
    configurable: true,
    get: () => (inner === undefined ? undefined : look),
    set: (fn: ((item: CstNode) => void) | undefined) => {
      inner = fn;
    },
  });
  try {
    return { seen, result: parseProgram(text, 'big.scion') };
  } finally {
    delete (parser as { onTopItem?: unknown }).onTopItem;
    parser.onTopItem = undefined;
  }
}

describe('parsing a large file streams its declarations', () => {
  it('keeps no earlier CST and at most two tokens behind, however many models', () => {
    for (const n of [10, 200]) {
      const { seen, result } = watch(Array.from({ length: n }, (_, i) => model(i)).join(''));
      expect(result.diagnostics).toEqual([]);
      expect(result.program.decls.map((d) => ('name' in d ? d.name.name : d.kind))).toEqual(Array.from({ length: n }, (_, i) => `M${i}`));
      expect(seen.items).toBe(n);
      expect(seen.keptCsts).toBe(0);
      // The last token of the previous model (`}`) and the one before it are kept for error messages.
      expect(seen.maxTokensBehind).toBeLessThanOrEqual(2);
    }
  });

  it('lets go of the tokens once the parse is done', () => {
    parseProgram(model(0), 'one.scion');
    expect(scionParser().input).toEqual([]);
  });

  it('builds every item after errors too, in source order, with the same errors', () => {
    const text = `${model(0)}model Bad( {\n  output y = \n}\n\n)\n${model(1)}`;
    const { seen, result } = watch(text);
    expect(result.diagnostics.map((d) => d.code)).toContain('E0103');
    expect(seen.keptCsts).toBe(0);
    expect(result.program.decls.map((d) => ('name' in d ? d.name.name : d.kind)).filter((n) => n.startsWith('M'))).toEqual(['M0', 'M1']);
  });
});
