// Pre-flight, the hook of `scion check`: first the one validation inherit itself runs (validate.ts:
// everything it would refuse about the declaration and the two models), then, when the parent
// checkpoint exists, its safetensors header(s) and config.json — never a weight — reporting at the
// spec line: a checkpoint that does not match the declared parent, layer indices past its depth,
// vocabulary ids past the embedding rows, tied weights that would be untied. When the checkpoint
// does not exist yet (the parent is not trained), only the declaration is checked.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Field, InheritDecl, Program, Span } from '../../../grammar/ast.ts';
import type { Diagnostic } from '../../../grammar/diagnostics/diagnostic.ts';
import { diag, note } from '../../../grammar/diagnostics/make.ts';
import type { Code } from '../../../grammar/diagnostics/catalog.ts';
import { matchesPath } from '../../../grammar/check/patterns.ts';
import { checkpointPlan, namingPreset, readConfig } from '../../../compiler/presets/index.ts';
import { checkHeaderLength, parseHeader } from '../../../runtime/weights/header.ts';
import { readUtf8Sync } from '../../../runtime/text/utf8.ts';
import { parseTokenizerJson } from '../../../runtime/tokenizer/index.ts';
import { validateInheritance } from './validate.ts';

/** name → shape of every tensor in a checkpoint (single file or sharded index), headers only. */
export function readHeaderShapes(path: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const one = (file: string) => {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const prefix = new Uint8Array(8);
      readSync(fd, prefix, 0, Math.min(8, size), 0);
      const n = checkHeaderLength(file, prefix, size);
      const bytes = new Uint8Array(n);
      readSync(fd, bytes, 0, n, 8);
      for (const [name, info] of parseHeader(file, bytes, 8 + n, size - 8 - n).tensors) out.set(name, info.shape);
    } finally {
      closeSync(fd);
    }
  };
  if (!path.endsWith('.json')) {
    one(path);
    return out;
  }
  const index = JSON.parse(readFileSync(path, 'utf8')) as { weight_map?: Record<string, string> };
  for (const shard of new Set(Object.values(index.weight_map ?? {}))) one(join(dirname(path), shard));
  return out;
}

const fieldOf = (decl: InheritDecl, key: string): Field | undefined => decl.fields.find((f) => f.key === key);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export interface PreflightOptions {
  /** Resolves the spec's relative paths (checkpoint, tokenizer). */
  readonly cwd: string;
  /** Overrides the declaration's `at`. */
  readonly parentPath?: string;
}

/**
 * Diagnostics for one inherit declaration: the declaration's own (validate.ts), then the
 * checkpoint's when it exists.
 *
 * @example
 * const diags = await preflight([program], decl, { cwd: process.cwd() });
 */
export async function preflight(programs: readonly Program[], decl: InheritDecl, opts: PreflightOptions): Promise<Diagnostic[]> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.cwd, p));
  const path = abs(opts.parentPath ?? decl.at.value);
  const validated = await validateInheritance(programs, decl);
  const out: Diagnostic[] = [...validated.diagnostics];
  if (decl.at.value.trim() === '' || !existsSync(path)) return out;
  const report = (code: Code, span: Span, message: string, notes: string[] = [], suggestion?: string) =>
    out.push(diag(code, span, message, { notes: notes.map(note), ...(suggestion === undefined ? {} : { suggestion }) }));
  let shapes: Map<string, number[]>;
  try {
    shapes = readHeaderShapes(path);
  } catch (error) {
    report('E0802', decl.at.span, `cannot read the parent checkpoint's header: ${(error as Error).message}`);
    return out;
  }
  const parent = validated.parent;
  if (parent === undefined) return out;

  // 1. The checkpoint against the declared parent (names and shapes through the preset).
  const preset = namingPreset(parent.instance.preset);
  const entries = checkpointPlan(parent);
  const problems: string[] = [];
  const used = new Set<string>();
  for (const e of entries) {
    const name = [e.hf, ...e.readFallbacks].find((n) => shapes.has(n));
    if (name === undefined) problems.push(`missing tensor '${e.hf}' ${fmt(e.shape)}`);
    else if (fmt(shapes.get(name)!) !== fmt(e.shape)) problems.push(`'${name}' is ${fmt(shapes.get(name)!)}, \`${decl.parent.name}\` has ${fmt(e.shape)}`);
    if (name !== undefined) used.add(name);
  }
  const fallbacks = new Set(entries.flatMap((e) => e.readFallbacks));
  for (const n of shapes.keys())
    if (!used.has(n) && !fallbacks.has(n) && !(preset.buffers ?? []).some((b) => b.test(n))) problems.push(`unexpected tensor '${n}' ${fmt(shapes.get(n)!)}`);
  const configPath = join(dirname(path), 'config.json');
  if (parent.instance.preset !== undefined && existsSync(configPath)) {
    try {
      const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      const declared = readConfig(parent.instance.preset, cfg, Object.keys(parent.instance.params));
      for (const [k, v] of Object.entries(declared))
        if (parent.instance.params[k] !== v)
          problems.push(`config.json has ${k} = ${v}, \`${decl.parent.name}\` declares ${String(parent.instance.params[k])}`);
    } catch (error) {
      report('E0802', decl.at.span, `cannot read ${configPath}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) {
    report(
      'E0803',
      decl.at.span,
      `the checkpoint does not match \`${decl.parent.name}\`: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      [...problems.slice(0, 8), ...(problems.length > 8 ? [`… and ${problems.length - 8} more`] : [])],
      "point `at` at a checkpoint of the declared parent, or change the parent's sizes to the checkpoint's",
    );
  }

  // 2. Layer indices against the checkpoint's depth.
  const depth = new Set([...shapes.keys()].flatMap((n) => /(?:^|\.)(?:layers|blocks|h)\.(\d+)\./.exec(n)?.[1] ?? [])).size;
  const layers = fieldOf(decl, 'layers');
  if (layers?.value.kind === 'list' && depth > 0) {
    for (const item of layers.value.items) {
      if (item.kind === 'num' && item.value >= depth)
        report('E0804', item.span, `layer ${item.value} is past the checkpoint, which holds layers 0..${depth - 1}`);
    }
  }

  // 4. Vocabulary ids against the parent's embedding rows.
  const emb = parent.params.find((p) => p.path.endsWith('embed_tokens.weight') || p.path === 'wte.weight');
  const rowsOfEmb = emb?.shape[0];
  const vocab = fieldOf(decl, 'vocab');
  if (rowsOfEmb !== undefined && vocab !== undefined) {
    // A token list is validated with the declaration (validate.ts); a tokenizer only here.
    if (vocab.value.kind === 'call') {
      const tokArg = vocab.value.args.find((a) => a.name === 'tokenizer') ?? vocab.value.args[0];
      if (tokArg?.value.kind === 'str' && existsSync(abs(tokArg.value.value))) {
        try {
          const tok = parseTokenizerJson(readUtf8Sync(abs(tokArg.value.value), tokArg.value.value), tokArg.value.value);
          if (tok.size > rowsOfEmb) report('E0806', tokArg.value.span, `the tokenizer has ${tok.size} ids, past the parent's ${rowsOfEmb} embedding rows`);
        } catch (error) {
          report('E0802', tokArg.value.span, (error as Error).message);
        }
      }
    }
  }

  // 5. Tied weights: a parent without its own LM head reads it from the embedding.
  const head = entries.find((e) => e.readFallbacks.length > 0 && !shapes.has(e.hf) && e.readFallbacks.some((f) => shapes.has(f)));
  const except = fieldOf(decl, 'except');
  if (head !== undefined && except?.value.kind === 'list' && emb !== undefined) {
    const headPath = head.parts[0]!.path;
    for (const item of except.value.items) {
      if (item.kind !== 'str') continue;
      const a = matchesPath(item.value, headPath);
      const b = matchesPath(item.value, emb.path);
      if (a !== b)
        report(
          'E0807',
          item.span,
          `the parent ties '${headPath}' to '${emb.path}', but "${item.value}" reinitializes only ${a ? `'${headPath}'` : `'${emb.path}'`}`,
          [],
          'except both or neither',
        );
    }
  }
  return out;
}

/** Every inherit declaration of a program, pre-flighted. The hook for `scion check`. */
export async function preflightProgram(programs: readonly Program[], opts: PreflightOptions): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const d of programs.flatMap((p) => p.decls)) if (d.kind === 'inherit') out.push(...(await preflight(programs, d, opts)));
  return out;
}
