// Numbers YAML reads that no spec value can be: `.nan`, `.inf`, `-.inf`, and decimals past the
// largest double (`1e400` reads as Infinity). Each is named as what it is, at its place, before
// validation — otherwise the schema reports "expected a number, found a number (NaN)" and the
// expression reader trips over the `.` of `.inf`.

import { isCollection, isPair, isScalar, type Document } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import type { Locator } from './positions.ts';

/** One E0208 per number that is not finite, labelled with its nearest key (`dim`, `data[1]`). */
export function screenNumbers(doc: Document, loc: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const visit = (node: unknown, label: string): void => {
    if (isScalar(node)) {
      if (typeof node.value !== 'number' || Number.isFinite(node.value) || node.range === undefined || node.range === null) return;
      const [start, end] = node.range;
      const text = loc.text.slice(start, end);
      out.push(
        diag('E0208', loc.span(start, end), `${label}: expected a finite number, found ${nonFinite(node.value, text)}`, {
          suggestion: 'write a finite number',
        }),
      );
      return;
    }
    if (!isCollection(node)) return;
    node.items.forEach((item, i) => {
      if (isPair(item)) visit(item.value, isScalar(item.key) ? `\`${String(item.key.value)}\`` : label);
      else visit(item, label === 'this value' ? label : `${label.slice(0, -1)}[${i}]\``);
    });
  };
  visit(doc.contents, 'this value');
  return out;
}

/** `NaN (.nan)`, `infinity (-.inf)`, or `1e400, which is too large (…)` for a decimal that overflowed. */
function nonFinite(value: number, text: string): string {
  if (Number.isNaN(value)) return `NaN (${text})`;
  if (/^[-+]?\.inf$/i.test(text)) return `${value < 0 ? 'minus infinity' : 'infinity'} (${text})`;
  return `${text}, which is too large${value < 0 ? ' in magnitude' : ''}: a number is at most about 1.8e308 (a double)`;
}
