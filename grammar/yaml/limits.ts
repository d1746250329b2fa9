// Hostile YAML is refused in bounded time and memory, before and after the YAML reader runs.
//
// Before: the text's size, each token's size, bracket nesting and indentation are screened with
// the yaml package's streaming lexer, stopping at the first excess. This must come first: the
// reader recurses per nesting level (a million `[` exhausts its stack and then its memory).
// After: explicit tags, directives, node depth and alias expansion are checked on the document.

import { Lexer, isAlias, isCollection, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import type { Locator } from './positions.ts';

export const YAML_LIMITS = {
  /** Bytes (UTF-8) of a whole document. */
  maxBytes: 1024 * 1024,
  /** Characters of one token: a scalar, a comment. */
  maxToken: 16 * 1024,
  /** Nesting of flow collections (`[`, `{`), and of all collections in the document. */
  maxDepth: 64,
  /** Columns of indentation plus block indicators (`- `, `? `) on one line. */
  maxIndent: 128,
  /** Nodes that aliases may expand to (yaml's maxAliasCount). */
  maxAliasCount: 100,
  /** Values visited building the AST: far above any real spec, far below an alias bomb. */
  maxNodes: 200_000,
} as const;

// The lexer marks document starts, flow ends and scalar starts with control characters that do
// not occur in the source; they take no width.
const ZERO_WIDTH = new Set(['\x02', '\x18', '\x1f']);

/** Screens raw text; returns the first problem found, or nothing. */
export function screenText(text: string, loc: Locator): Diagnostic[] {
  const bytes = utf8Length(text, YAML_LIMITS.maxBytes);
  if (bytes > YAML_LIMITS.maxBytes) {
    return [diag('E0202', loc.span(0, 0), `the YAML spec is ${bytes} bytes; the limit is ${YAML_LIMITS.maxBytes} (1 MiB)`)];
  }
  let offset = 0;
  let depth = 0;
  let lineStart = true;
  let lineDepth = 0; // indentation plus block indicators on the current line
  for (const token of new Lexer().lex(text)) {
    if (ZERO_WIDTH.has(token)) continue;
    const at = offset;
    offset += token.length;
    if (token.length > YAML_LIMITS.maxToken) {
      return [diag('E0202', loc.span(at, at + 1), `a scalar or comment of ${token.length} characters; the limit is ${YAML_LIMITS.maxToken}`)];
    }
    if (token === '[' || token === '{') {
      depth++;
      if (depth > YAML_LIMITS.maxDepth) {
        return [diag('E0203', loc.span(at, at + 1), `brackets nest more than ${YAML_LIMITS.maxDepth} levels deep`)];
      }
    } else if (token === ']' || token === '}') {
      depth = Math.max(0, depth - 1);
    }
    if (token.includes('\n')) {
      lineStart = true;
      lineDepth = 0;
      continue;
    }
    if (lineStart && /^ +$/.test(token)) lineDepth += token.length;
    else if (token === '-' || token === '?')
      lineDepth += 1; // with its space: two columns, like an indent
    else if (token !== ' ' && !/^ +$/.test(token)) lineStart = false;
    if (lineDepth > YAML_LIMITS.maxIndent) {
      return [diag('E0203', loc.span(at, at + 1), `this line nests more than ${YAML_LIMITS.maxIndent} columns deep`)];
    }
  }
  return [];
}

/** UTF-8 length of a text, counting no further than just past `cap` (no copy; works in browsers). */
function utf8Length(text: string, cap: number): number {
  // Every UTF-16 unit takes at least one byte, so a longer text is over the cap already.
  if (text.length > cap) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Checks a parsed document: no tags or directives, bounded depth, bounded alias expansion. */
export function screenDocument(doc: Document, loc: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const directives = doc.directives;
  if (directives?.docStart !== undefined && (directives.yaml.explicit === true || Object.keys(directives.tags).some((h) => h !== '!!'))) {
    out.push(
      diag('E0206', loc.span(0, 0), 'directives (`%YAML`, `%TAG`) are not part of the YAML form', {
        suggestion: 'remove the directive lines and the `---` after them',
      }),
    );
  }
  let firstAlias: Node['range'] | undefined;
  const visit = (node: unknown, depth: number): boolean => {
    if (depth > YAML_LIMITS.maxDepth) {
      const range = (node as Node).range;
      out.push(diag('E0203', loc.spanOf(range), `the document nests more than ${YAML_LIMITS.maxDepth} levels deep`));
      return false;
    }
    if (isAlias(node)) {
      firstAlias ??= node.range;
      return true;
    }
    if (isScalar(node) || isCollection(node)) {
      if (node.tag !== undefined) {
        // The node's range starts after its tag; point at the tag itself.
        const start = node.range?.[0] ?? 0;
        let j = start - 1;
        while (j >= 0 && (loc.text[j] === ' ' || loc.text[j] === '\t')) j--;
        let k = j;
        while (k >= 0 && !/\s/.test(loc.text[k]!)) k--;
        const at = loc.text[k + 1] === '!' ? k + 1 : start;
        out.push(
          diag('E0206', loc.span(at, node.range?.[1] ?? at), `the tag \`${node.tag.replace('tag:yaml.org,2002:', '!!')}\` is not part of the YAML form`, {
            suggestion: 'write a plain number, boolean, string, list or map',
          }),
        );
      }
    }
    if (isMap(node)) {
      // Duplicate keys, here in one pass: the reader's own check (uniqueKeys) compares every key
      // with every other, and a map of 100k keys took minutes.
      const seen = new Map<string, Node>();
      for (const item of node.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        const key = String(item.key.value);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, item.key);
        else {
          const { line } = loc.pos(first.range?.[0] ?? 0);
          out.push(
            diag('E0201', loc.spanOf(item.key.range), `the key \`${key}\` is set twice in this map (first on line ${line})`, {
              suggestion: 'keep one of them',
            }),
          );
        }
      }
    }
    if (isCollection(node)) {
      for (const item of node.items) {
        if (isPair(item)) {
          if (!visit(item.key, depth + 1) || !visit(item.value, depth + 1)) return false;
        } else if (!visit(item, depth + 1)) return false;
      }
    }
    return true;
  };
  visit(doc.contents, 1);
  if (firstAlias !== undefined && out.length === 0) {
    try {
      doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    } catch (error) {
      if (!(error instanceof ReferenceError)) throw error;
      out.push(
        diag('E0204', loc.spanOf(firstAlias), `aliases expand to more than ${YAML_LIMITS.maxAliasCount} nodes (an alias bomb?)`, {
          suggestion: 'write the repeated values out instead of aliasing them',
        }),
      );
    }
  }
  return out;
}
