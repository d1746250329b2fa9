// Drives `scion lsp` over stdio like an editor, on the shipped specs. Every expected position is
// found by searching the spec's text, every expected code and value comes from the grammar's own
// tables and checker — never from the server's earlier answers.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSource } from '../../grammar/check/check-source.ts';
import { checkLowered } from '../../compiler/lower/check-lowered.ts';
import { LIBRARY } from '../../grammar/library/signatures.ts';
import { CONFIG_FIELDS } from '../../grammar/schema/fields.ts';
import { LspClient, ROOT } from './client.ts';
import { KD_MISMATCH } from '../fixtures/loss-specs.ts';

const specPath = (name: string): string => join(ROOT, 'specs', name);
const uriOf = (path: string): string => pathToFileURL(path).href;
const TINY = specPath('tiny-lm.scion');
const TINY_URI = uriOf(TINY);
const TINY_TEXT = readFileSync(TINY, 'utf8');

interface Position {
  line: number;
  character: number;
}
interface Range {
  start: Position;
  end: Position;
}
interface Location {
  uri: string;
  range: Range;
}
interface TextEdit {
  range: Range;
  newText: string;
}

/** The 0-based position of the `nth` occurrence of `needle` in `text` (plus `shift` characters). */
function find(text: string, needle: string, nth = 0, shift = 0): Position {
  let at = -1;
  for (let k = 0; k <= nth; k++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' #${nth} not in the text`);
  }
  const before = text.slice(0, at + shift);
  const line = before.split('\n').length - 1;
  return { line, character: at + shift - (before.lastIndexOf('\n') + 1) };
}

/** Every 0-based position of the whole word `word` in `text`. */
function words(text: string, word: string): Position[] {
  return [...text.matchAll(new RegExp(`\\b${word}\\b`, 'g'))].map((m) =>
    find(text.slice(0, m.index + word.length), word, text.slice(0, m.index + word.length).split(word).length - 2),
  );
}

/** Applies non-overlapping edits to a text (last first). */
function apply(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: Position): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return [...edits]
    .sort((a, b) => offset(b.range.start) - offset(a.range.start))
    .reduce((t, e) => t.slice(0, offset(e.range.start)) + e.newText + t.slice(offset(e.range.end)), text);
}

let client: LspClient;
let version = 1;
const open = (uri: string, text: string, languageId = 'scion'): void =>
  client.notify('textDocument/didOpen', { textDocument: { uri, languageId, version: (version = 1), text } });
const change = (uri: string, text: string): void =>
  client.notify('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [{ text }] });
const at = (uri: string, position: Position) => ({ textDocument: { uri }, position });

beforeAll(async () => {
  client = new LspClient();
  const init = await client.request<{ capabilities: Record<string, unknown> }>(
    'initialize',
    { processId: process.pid, rootUri: uriOf(ROOT), capabilities: {} },
    15_000,
  );
  expect(init.capabilities).toMatchObject({ hoverProvider: true, definitionProvider: true, referencesProvider: true, documentFormattingProvider: true });
  client.notify('initialized', {});
}, 20_000);

afterAll(async () => {
  await client?.close();
});

describe('scion lsp: diagnostics', () => {
  it('a clean spec publishes none; a mistake is reported at its line and UTF-16 column with the checker code; fixing it clears it', async () => {
    open(TINY_URI, TINY_TEXT);
    expect((await client.diagnosticsFor(TINY_URI)).diagnostics).toEqual([]);

    // A non-ASCII string (an emoji is two UTF-16 units) before the mistake on the same line.
    const bad = TINY_TEXT.replace('data = brown(split = "train", seq = 128)\n  eval', 'data = brown(split = "tráin😀", seq = 128, batchez = 2)\n  eval');
    const expected = checkSource(bad, TINY, () => undefined).diagnostics;
    expect(expected.length).toBe(1);
    change(TINY_URI, bad);
    const got = await client.diagnosticsFor(TINY_URI, (p) => p.diagnostics.length > 0);
    const start = find(bad, 'batchez');
    expect(got.diagnostics).toHaveLength(1);
    expect(got.diagnostics[0]).toMatchObject({
      code: expected[0]!.code,
      severity: 1,
      range: { start, end: { line: start.line, character: start.character + 'batchez'.length } },
    });
    expect(got.diagnostics[0]!.message).toContain('batchez');

    change(TINY_URI, TINY_TEXT);
    expect((await client.diagnosticsFor(TINY_URI)).diagnostics).toEqual([]);
  });

  it('YAML specs are checked by the YAML front end, from the file extension', async () => {
    const uri = uriOf(join(ROOT, 'test', '.tmp', 'lsp-unsaved.yaml'));
    const text = 'models:\n  M:\n    params: { dim: 8 }\n    body:\n      - input x: f32[batch, dim]\n      - output y = Lineer(x, dim)\n';
    const expected = checkSource(text, join(ROOT, 'test', '.tmp', 'lsp-unsaved.yaml'), () => undefined).diagnostics;
    open(uri, text, 'yaml');
    const got = await client.diagnosticsFor(uri);
    expect(got.diagnostics.map((d) => [d.code, d.range.start])).toEqual(
      expected.map((d) => [d.code, { line: d.span.start.line - 1, character: d.span.start.col - 1 }]),
    );
    expect(got.diagnostics.length).toBeGreaterThan(0);
  });
});

describe('scion lsp: what only lowering knows', () => {
  it('reports a kd whose operands cannot match at the loss term, exactly as `scion check` does', async () => {
    const path = join(ROOT, 'test', '.tmp', 'lsp-kd.scion');
    const text = KD_MISMATCH;
    // The checker passes it (a warning that nothing trains T); lowering does not.
    const r = checkSource(text, path, () => undefined);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const expected = [...r.diagnostics, ...checkLowered({ file: path, imports: [], decls: r.decls })];
    expect(expected.map((d) => d.code)).toEqual(['W0004', 'E0901']);
    const uri = uriOf(path);
    open(uri, text);
    const got = await client.diagnosticsFor(uri, (p) => p.diagnostics.some((d) => d.code === 'E0901'));
    // The editor's message is the checker's, with its suggestion on a second line.
    expect(got.diagnostics.map((d) => [d.code, d.range.start, d.message.split('\n')[0]])).toEqual(
      expected.map((d) => [d.code, { line: d.span.start.line - 1, character: d.span.start.col - 1 }, d.message]),
    );
  });
});

describe('scion lsp: imports', () => {
  it('reads imports from open documents before the disk, and shows their problems at the import', async () => {
    // Neither file is on disk: the importer reads the library from the editor's buffer.
    const libPath = join(ROOT, 'test', '.tmp', 'lsp-lib.scion');
    const mainPath = join(ROOT, 'test', '.tmp', 'lsp-main.scion');
    const lib = 'model Base(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Lineer(x, dim)\n}\n';
    const main = '// π → an import\nimport "lsp-lib.scion"\n\nmodel Small = Base(dim = 4)\n';
    open(uriOf(libPath), lib);
    const own = await client.diagnosticsFor(uriOf(libPath));
    expect(own.diagnostics.map((d) => d.range.start)).toContainEqual(find(lib, 'Lineer'));
    open(uriOf(mainPath), main);
    const got = await client.diagnosticsFor(uriOf(mainPath));
    expect(got.diagnostics.length).toBe(own.diagnostics.length);
    const importAt = find(main, 'import "lsp-lib.scion"');
    for (const d of got.diagnostics) {
      expect(d.range.start).toEqual(importAt);
      expect(d.message).toMatch(/^in lsp-lib\.scion:3:\d+: /);
    }
    const def = await client.request<Location>('textDocument/definition', at(uriOf(mainPath), find(main, '= Base(', 0, 2)));
    expect(def).toMatchObject({ uri: uriOf(libPath), range: { start: find(lib, 'model Base', 0, 'model '.length) } });
    const args = await client.request<{ label: string }[]>('textDocument/completion', at(uriOf(mainPath), find(main, 'Base(', 0, 5)));
    expect(args.map((i) => i.label)).toEqual(['dim']);
    // Fixing the library clears the importer's diagnostics.
    client.notify('textDocument/didChange', { textDocument: { uri: uriOf(libPath), version: 2 }, contentChanges: [{ text: lib.replace('Lineer', 'Linear') }] });
    expect((await client.diagnosticsFor(uriOf(mainPath))).diagnostics).toEqual([]);
  });
});

describe('scion lsp: navigation on specs/tiny-lm.scion', () => {
  it('hover: a library layer shows its signature and doc line', async () => {
    const h = await client.request<{ contents: { value: string } }>('textDocument/hover', at(TINY_URI, find(TINY_TEXT, 'Attention(', 0, 2)));
    expect(h.contents.value).toContain('Attention(x, heads');
    expect(h.contents.value).toContain(LIBRARY.Attention.doc);
  });

  it('hover: a model parameter shows its value, a let its definition, a model its parameter count', async () => {
    const dim = await client.request<{ contents: { value: string } }>('textDocument/hover', at(TINY_URI, find(TINY_TEXT, 'require dim', 0, 'require '.length)));
    expect(dim.contents.value).toContain('dim = 256');
    const calib = await client.request<{ contents: { value: string } }>(
      'textDocument/hover',
      at(TINY_URI, find(TINY_TEXT, 'taylor(calib)', 0, 'taylor('.length)),
    );
    expect(calib.contents.value).toContain('let calib = brown(split = "calib"');
    const model = await client.request<{ contents: { value: string } }>('textDocument/hover', at(TINY_URI, find(TINY_TEXT, 'model Llama', 0, 'model '.length)));
    expect(model.contents.value).toMatch(/parameters \([\d,]+\)/);
    const field = await client.request<{ contents: { value: string } }>('textDocument/hover', at(TINY_URI, find(TINY_TEXT, '  steps = 2k', 0, 3)));
    expect(field.contents.value).toContain(CONFIG_FIELDS.train.steps.doc);
  });

  it("hover: a model body's let shows its tensor's shape from lowering the model with its defaults", async () => {
    const defaults = Object.fromEntries([.../\bmodel Llama\(([^)]*)\)/.exec(TINY_TEXT)![1]!.matchAll(/(\w+) = (\d+)/g)].map((m) => [m[1], m[2]]));
    const logits = await client.request<{ contents: { value: string } }>(
      'textDocument/hover',
      at(TINY_URI, find(TINY_TEXT, 'output logits', 0, 'output '.length)),
    );
    expect(logits.contents.value).toContain(`shape [1, ${defaults.ctx}, ${defaults.vocab}]`);
    const a = await client.request<{ contents: { value: string } }>(
      'textDocument/hover',
      at(TINY_URI, find(TINY_TEXT, 'RMSNorm(h) as layers[i].input', 0, -'a = '.length)),
    );
    expect(a.contents.value).toContain(`shape [1, ${defaults.ctx}, ${defaults.dim}]`);
  });

  it('definition: a model name and a let go to their declarations', async () => {
    const def = await client.request<Location>('textDocument/definition', at(TINY_URI, find(TINY_TEXT, '= Llama(', 0, 2)));
    const decl = find(TINY_TEXT, 'model Llama', 0, 'model '.length);
    expect(def).toEqual({ uri: TINY_URI, range: { start: decl, end: { line: decl.line, character: decl.character + 5 } } });
    const let_ = await client.request<Location>('textDocument/definition', at(TINY_URI, find(TINY_TEXT, 'activation(calib)', 0, 'activation('.length)));
    expect(let_.range.start).toEqual(find(TINY_TEXT, 'let calib', 0, 'let '.length));
  });

  it('definition across an import: ba-lora.scion → default.scion', async () => {
    const path = specPath('ba-lora.scion');
    const text = readFileSync(path, 'utf8');
    open(uriOf(path), text);
    const def = await client.request<Location>('textDocument/definition', at(uriOf(path), find(text, 'from TinyLlama', 0, 'from '.length)));
    const parent = readFileSync(specPath('default.scion'), 'utf8');
    expect(def.uri).toBe(uriOf(specPath('default.scion')));
    expect(def.range.start).toEqual(find(parent, 'model TinyLlama', 0, 'model '.length));
  });

  it('references: every use of the `calib` let, with its declaration', async () => {
    const refs = await client.request<Location[]>('textDocument/references', {
      ...at(TINY_URI, find(TINY_TEXT, 'let calib', 0, 4)),
      context: { includeDeclaration: true },
    });
    const expected = [
      find(TINY_TEXT, 'let calib', 0, 4),
      find(TINY_TEXT, '(calib)', 0, 1),
      find(TINY_TEXT, '(calib)', 1, 1),
      find(TINY_TEXT, 'calib = calib', 0, 'calib = '.length),
    ];
    expect(refs.map((r) => r.range.start)).toEqual(expect.arrayContaining(expected));
    expect(refs).toHaveLength(expected.length);
  });

  it('rename: a model is renamed at its declaration and every use, and the result checks clean', async () => {
    const edit = await client.request<{ changes: Record<string, TextEdit[]> }>('textDocument/rename', {
      ...at(TINY_URI, find(TINY_TEXT, 'train Llama', 0, 'train '.length)),
      newName: 'Parent',
    });
    const edits = edit.changes[TINY_URI]!;
    expect(edits.map((e) => e.range.start)).toEqual(expect.arrayContaining(words(TINY_TEXT, 'Llama')));
    expect(edits).toHaveLength(words(TINY_TEXT, 'Llama').length);
    const renamed = apply(TINY_TEXT, edits);
    expect(renamed).not.toMatch(/\bLlama\b/);
    expect(checkSource(renamed, TINY, () => undefined).diagnostics).toEqual([]);
  });
});

describe('scion lsp: what cannot be renamed', () => {
  it('refuses a library name and a name that is not a name or is reserved', async () => {
    expect(await client.request('textDocument/prepareRename', at(TINY_URI, find(TINY_TEXT, 'Attention(', 0, 1)))).toBeNull();
    const llama = find(TINY_TEXT, 'train Llama', 0, 'train '.length);
    expect(await client.request('textDocument/prepareRename', at(TINY_URI, llama))).toMatchObject({ placeholder: 'Llama' });
    for (const newName of ['2fast', 'frozen', 'a-b']) expect(await client.request('textDocument/rename', { ...at(TINY_URI, llama), newName })).toBeNull();
  });
});

describe('scion lsp: completion and formatting', () => {
  it("completes a layer's argument names inside its call", async () => {
    const items = await client.request<{ label: string }[]>(
      'textDocument/completion',
      at(TINY_URI, find(TINY_TEXT, 'Attention(a, ', 0, 'Attention(a, '.length)),
    );
    expect(items.map((i) => i.label)).toEqual(LIBRARY.Attention.args.map((a) => a.name));
  });

  it('completes config fields at the start of a line in a train block, layer names in a model body', async () => {
    const text = TINY_TEXT.replace('train Llama {\n', 'train Llama {\n  st\n').replace('  input tokens', '  x = Li\n  input tokens');
    change(TINY_URI, text);
    const fields = await client.request<{ label: string }[]>('textDocument/completion', at(TINY_URI, find(text, '  st\n', 0, 4)));
    expect(fields.map((i) => i.label).sort()).toEqual(Object.keys(CONFIG_FIELDS.train).sort());
    const layers = await client.request<{ label: string }[]>('textDocument/completion', at(TINY_URI, find(text, 'x = Li', 0, 6)));
    expect(layers.map((i) => i.label)).toEqual(expect.arrayContaining(['Linear', 'RMSNorm', 'Attention', 'SwiGLU']));
    change(TINY_URI, TINY_TEXT);
  });

  it('formatting gives the canonical text, and nothing for text with parse errors', async () => {
    const messy = TINY_TEXT.replace('h = Embedding(tokens, vocab, dim)', 'h   =  Embedding( tokens,vocab,  dim )').replace(
      '  batch = 16\n',
      '      batch   = 16\n',
    );
    expect(messy).not.toBe(TINY_TEXT);
    change(TINY_URI, messy);
    const edits = await client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri: TINY_URI }, options: { tabSize: 2, insertSpaces: true } });
    expect(apply(messy, edits)).toBe(TINY_TEXT);
    change(TINY_URI, `${messy}\nmodel {`);
    expect(
      await client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri: TINY_URI }, options: { tabSize: 2, insertSpaces: true } }),
    ).toEqual([]);
    change(TINY_URI, TINY_TEXT);
  });
});

describe('scion lsp: formatting the YAML form', () => {
  const path = specPath('yaml/default.yaml');
  const text = readFileSync(path, 'utf8');
  const uri = uriOf(path);
  const format = () => client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });

  it('a shipped YAML spec is canonical already; a re-spaced one is printed back to it, modeline and comments kept', async () => {
    open(uri, text, 'yaml');
    expect(await format()).toEqual([]);
    // Values spaced out, a flow map padded, a string quoted, a flow list for a block one: the same program.
    const messy = text
      .replace('preset: llama', 'preset:     llama')
      .replace('steps: 300', 'steps:   300')
      .replace('{vocab: 512, dim: 64', '{ vocab: 512,   dim: 64')
      .replace('message: dim must split evenly into heads', 'message: "dim must split evenly into heads"');
    expect(messy).not.toBe(text);
    change(uri, messy);
    expect(apply(messy, await format())).toBe(text);
  });

  it('never rewrites YAML its front end reports an error in', async () => {
    change(uri, text.replace('  - model: TinyLlama', '  - model: [TinyLlama'));
    expect(await format()).toEqual([]);
    change(uri, text);
  });
});

describe('scion lsp: layer paths', () => {
  /** The range of the `as` path that starts at `needle` (its text `path`) in `text`. */
  const pathRange = (text: string, needle: string, path: string, nth = 0): Range => {
    const start = find(text, needle, nth, needle.indexOf(path));
    return { start, end: { line: start.line, character: start.character + path.length } };
  };

  it("definition: an adapter's target pattern goes to the `as` path it names; references of that path list the patterns", async () => {
    const path = specPath('ba-lora.scion');
    const text = readFileSync(path, 'utf8');
    const uri = uriOf(path);
    open(uri, text);
    const def = await client.request<Location>('textDocument/definition', at(uri, find(text, '"layers.*.self_attn.q_proj"', 0, 3)));
    // GenreClassifier's own body (the adapter is `on GenreClassifier`), not TinyLlama's in default.scion.
    const nth = text.slice(0, text.indexOf('model GenreClassifier')).split('as layers[i].self_attn').length - 1;
    expect(def).toEqual({ uri, range: pathRange(text, 'as layers[i].self_attn', 'layers[i].self_attn', nth) });

    const refs = await client.request<Location[]>('textDocument/references', { ...at(uri, def.range.start), context: { includeDeclaration: false } });
    // Both adapters name q_proj and v_proj under it: four patterns.
    const want = [0, 1].flatMap((n) => [find(text, '"layers.*.self_attn.q_proj"', n), find(text, '"layers.*.self_attn.v_proj"', n)]);
    expect(refs.map((r) => r.range.start)).toEqual(expect.arrayContaining(want));
    expect(refs).toHaveLength(want.length);
    // A pattern naming a module with no `as` path of its own goes to the enclosing one: `score.*` → `as score`.
    const score = await client.request<Location>('textDocument/definition', at(uri, find(text, '"score.*"', 0, 2)));
    expect(score.range).toEqual(pathRange(text, 'as score', 'score'));
  });

  it("definition: an inherit's except pattern names the `as` path of both the child and the parent", async () => {
    const path = specPath('lit.scion');
    const text = readFileSync(path, 'utf8');
    const uri = uriOf(path);
    open(uri, text);
    const defs = await client.request<Location[]>('textDocument/definition', at(uri, find(text, '"blocks.*.attn.*"', 0, 1)));
    const want = [pathRange(text, 'as blocks[i]', 'blocks[i]', 0), pathRange(text, 'as blocks[i]', 'blocks[i]', 1)];
    expect(defs.map((d) => d.range)).toEqual(expect.arrayContaining(want));
    expect(defs).toHaveLength(2);
    const hover = await client.request<{ contents: { value: string } }>('textDocument/hover', at(uri, want[0]!.start));
    expect(hover.contents.value).toContain('layer path of `DiT`');
  });

  it('a cursor on the index of an `as` path still finds the repeat variable', async () => {
    const def = await client.request<Location>('textDocument/definition', at(TINY_URI, find(TINY_TEXT, 'as layers[i].self_attn', 0, 'as layers['.length)));
    expect(def.range.start).toEqual(find(TINY_TEXT, 'repeat i', 0, 'repeat '.length));
  });
});
