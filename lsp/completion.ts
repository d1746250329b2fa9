// Completion from the tables the checker validates against: inside `Name(` a library entry's (or
// a user layer's, or a base model's) argument names; at the start of a line in an inherit/prune/adapter/train/sample
// block that kind's config fields (grammar/schema/fields.ts); elsewhere the library's names and
// the program's models, layers and top-level lets. Where the cursor is comes from the text before
// it (brackets and the keyword that opened the block), so half-typed, unparsable text still works.

import type { ConfigKind, Decl } from '../grammar/ast.ts';
import { LIBRARY, type LibraryName, lookup } from '../grammar/library/signatures.ts';
import { CONFIG_FIELDS } from '../grammar/schema/fields.ts';

export type ItemKind = 'function' | 'class' | 'field' | 'variable' | 'property' | 'keyword';

export interface Item {
  label: string;
  kind: ItemKind;
  detail?: string;
  /** Text inserted instead of the label (`bias = `). */
  insertText?: string;
}

const CONFIG_KINDS = new Set<string>(Object.keys(CONFIG_FIELDS));

interface Context {
  /** The innermost unclosed bracket before the cursor and the word before it. */
  open?: { char: '(' | '[' | '{'; word: string; lineWord: string };
  /** Only a (partial) name since the start of the line. */
  lineStart: boolean;
}

/** Scans `text` up to `offset`, skipping strings and `//` comments, for the innermost open bracket. */
function contextAt(text: string, offset: number): Context {
  const stack: { char: '(' | '[' | '{'; at: number }[] = [];
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < offset && text[i] !== '"' && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < offset && text[i] !== '\n') i++;
    } else if (c === '(' || c === '[' || c === '{') stack.push({ char: c, at: i });
    else if (c === ')' || c === ']' || c === '}') stack.pop();
  }
  const lineBegin = text.lastIndexOf('\n', offset - 1) + 1;
  const lineStart = /^\s*[A-Za-z_]*$/.test(text.slice(lineBegin, offset));
  const top = stack[stack.length - 1];
  if (top === undefined) return { lineStart };
  const before = text.slice(0, top.at);
  const word = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(before)?.[1] ?? '';
  const openLine = before.slice(before.lastIndexOf('\n') + 1);
  const lineWord = /^\s*([A-Za-z_]+)/.exec(openLine)?.[1] ?? '';
  return { open: { char: top.char, word, lineWord }, lineStart };
}

function libraryItems(filter: (context: string) => boolean): Item[] {
  return (Object.keys(LIBRARY) as LibraryName[])
    .filter((n) => filter(LIBRARY[n].context))
    .map((n) => ({ label: n, kind: LIBRARY[n].context === 'layer' ? 'class' : 'function', detail: `${LIBRARY[n].context}: ${LIBRARY[n].doc}` }));
}

function declItems(decls: readonly Decl[]): Item[] {
  const out: Item[] = [];
  for (const d of decls) {
    if (d.kind === 'model' || d.kind === 'derived') out.push({ label: d.name.name, kind: 'class', detail: 'model' });
    else if (d.kind === 'layer') out.push({ label: d.name.name, kind: 'class', detail: 'layer' });
    else if (d.kind === 'binding') out.push({ label: d.name.name, kind: 'variable', detail: 'let' });
  }
  return out;
}

/** The completion items at `offset` of `text`, given the declarations the last check saw. */
export function completionItems(text: string, offset: number, decls: readonly Decl[]): Item[] {
  const ctx = contextAt(text, offset);
  const open = ctx.open;
  if (open?.char === '(') {
    const sig = lookup(open.word);
    if (sig !== undefined) return sig.args.map((a) => ({ label: a.name, kind: 'property', detail: a.kind, insertText: `${a.name} = ` }));
    const layer = decls.find((d) => d.kind === 'layer' && d.name.name === open.word);
    if (layer?.kind === 'layer') return layer.params.map((p) => ({ label: p.name.name, kind: 'property', insertText: `${p.name.name} = ` }));
    // `model Tiny = Llama(` takes the base model's parameters.
    const model = decls.find((d) => d.kind === 'model' && d.name.name === open.word);
    if (model?.kind === 'model') return model.params.map((p) => ({ label: p.name.name, kind: 'property', insertText: `${p.name.name} = ` }));
  }
  if (open?.char === '{' && CONFIG_KINDS.has(open.lineWord) && ctx.lineStart) {
    const fields = CONFIG_FIELDS[open.lineWord as ConfigKind] as Record<string, { doc: string; kind: string }>;
    return Object.entries(fields).map(([key, spec]) => ({ label: key, kind: 'field', detail: `${spec.kind}: ${spec.doc}`, insertText: `${key} = ` }));
  }
  if (open?.char === '{' && (open.lineWord === 'model' || open.lineWord === 'layer')) {
    return [...libraryItems((c) => c === 'layer' || c === 'fn' || c === 'init'), ...declItems(decls).filter((i) => i.detail === 'layer')];
  }
  return [...libraryItems(() => true), ...declItems(decls)];
}
