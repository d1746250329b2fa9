// Source positions in a YAML file: offsets → Pos/Span, and the map from an index in a scalar's
// value to its place in the file, so expressions parsed out of YAML strings point into the YAML.

import type { Scalar } from 'yaml';
import type { Pos, Span } from '../ast.ts';

export class Locator {
  /** Offsets where lines start; computed on first use (screening reports before any parse). */
  private starts: number[] | undefined;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  pos(offset: number): Pos {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.lineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: clamped - starts[lo]! + 1, offset: clamped };
  }

  private lineStarts(): number[] {
    if (this.starts === undefined) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.starts = starts;
    }
    return this.starts;
  }

  span(start: number, end: number): Span {
    return { file: this.file, start: this.pos(start), end: this.pos(Math.max(start, end)) };
  }

  /** The span of a node's value (yaml ranges are [start, valueEnd, nodeEnd]). */
  spanOf(range: readonly [number, number, number] | null | undefined): Span {
    return range ? this.span(range[0], range[1]) : this.span(0, 0);
  }

  /** A span covering two nodes: a key and its value. */
  spanFrom(a: readonly [number, number, number] | null | undefined, b: readonly [number, number, number] | null | undefined): Span {
    const start = a?.[0] ?? b?.[0] ?? 0;
    return this.span(start, b?.[1] ?? a?.[1] ?? start);
  }

  /**
   * For a scalar holding an expression: maps an index into its value to a file position.
   * Plain scalars on one line are copied verbatim; for quoted, folded and block scalars the value's
   * characters are matched in order against the source (escapes and folded line breaks shift
   * them), which is exact for every character that appears literally in the source.
   */
  valueLocator(node: Scalar, value: string): (index: number) => Pos {
    const range = node.range;
    if (!range) return () => this.pos(0);
    const [start, end] = range;
    const source = this.text.slice(start, end);
    if (source === value) return (i) => this.pos(start + i);
    const offsets = new Array<number>(value.length + 1);
    // Skip the opening quote or block indicator line, so matching starts inside the value.
    let cursor = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') cursor = Math.max(0, source.indexOf('\n') + 1);
    for (let i = 0; i < value.length; i++) {
      const found = source.indexOf(value[i]!, cursor);
      // A character not written literally (an escape such as \n) keeps the previous position.
      if (found !== -1 && found - cursor <= 160) {
        offsets[i] = start + found;
        cursor = found + 1;
      } else {
        offsets[i] = start + cursor;
      }
    }
    offsets[value.length] = start + Math.min(cursor, source.length);
    return (i) => this.pos(offsets[Math.max(0, Math.min(i, value.length))]!);
  }
}
