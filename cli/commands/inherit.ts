// `scion inherit FILE [--child NAME] [--parent P] -o DIR [--json]`: build a child checkpoint from
// its parent as the spec's `inherit` declaration says, writing model.safetensors, config.json,
// tokenizer.json (when the vocabulary changed) and provenance.json into DIR.
// `scion inherit --replay provenance.json --parent P.safetensors -o DIR`: apply a recorded
// selection to a sibling checkpoint of the same architecture, without the spec.

import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { InheritDecl, PruneDecl, Span } from '../../grammar/ast.ts';
import { InheritError } from '../../jobs/inherit/layout/layout.ts';
import { pruneContext, runInheritance } from '../../jobs/inherit/inherit-model.ts';
import { provenanceOf, readProvenance } from '../../jobs/inherit/write/provenance.ts';
import { FieldError } from '../../jobs/inherit/spec/spec-fields.ts';
import { InheritRefusal } from '../../jobs/inherit/spec/validate.ts';
import { writeChild } from '../../jobs/inherit/write/transfer.ts';
import { inRunFolder } from '../../jobs/run-folder.ts';
import { openSafetensors, SafetensorsError } from '../../runtime/weights/index.ts';
import { MappingError } from '../../compiler/presets/index.ts';
import { renderDiagnostics } from '../../grammar/diagnostics/render.ts';
import { diag } from '../../grammar/diagnostics/make.ts';
import { command, commandSpec, usageError, type SpecValues } from '../flags.ts';
import { EXIT, type Io, workProgress } from '../io.ts';
import { loadSpec, reportLowerError } from '../spec.ts';
import { absolute, checkOutputDir, refuseOwnInput } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'inherit',
  about: `Builds a child checkpoint from its parent as the spec's \`inherit\` (or \`prune\`) declaration says, writing
model.safetensors, config.json, tokenizer.json (when the vocabulary changed) and provenance.json into DIR.
With --replay provenance.json --parent CKPT (and no FILE) it applies a recorded selection to a sibling checkpoint.`,
  args: { name: 'FILE', min: 0, max: 1 },
  flags: ['child', 'parent', 'replay', 'tokenizer', 'calibBatches', 'calibSeq', 'out', 'json'],
  required: ['out'],
  placeholders: { out: 'DIR' },
});

type Args = SpecValues<typeof SPEC> & { file?: string };

/** The command line's values, with the checks that tie them together. */
function argsOf(flags: SpecValues<typeof SPEC>, file: string | undefined): Args {
  if (flags.replay !== undefined && (flags.parent === undefined || file !== undefined)) throw usageError(SPEC, '--replay needs --parent and no spec file');
  if (flags.replay === undefined && file === undefined) throw usageError(SPEC, 'no spec file given');
  return file === undefined ? flags : { ...flags, file };
}

/** The job's tensor-by-tensor progress as the one progress line (cli/io.ts), ended at the last tensor. */
function progressOf(io: Io, json: boolean): (done: number, total: number, name: string) => void {
  const p = workProgress(io, 'inherit', 'tensors', json);
  return (done, total, name) => {
    p?.update(done, total, name);
    if (done === total) p?.finish();
  };
}

function reportInheritError(error: unknown, io: Io, decl: { readonly span: Span } | undefined, sources: ReadonlyMap<string, string> = new Map()): number {
  if (error instanceof FieldError) {
    io.err(renderDiagnostics([diag(error.code, error.span, error.message)], new Map(), { color: false }));
    return EXIT.inputError;
  }
  // Refused before any weight was read: each reason at its spec line, as `scion check` says it.
  if (error instanceof InheritRefusal) {
    io.err(renderDiagnostics([...error.diagnostics], sources, { color: false }));
    return EXIT.inputError;
  }
  if (error instanceof InheritError || error instanceof MappingError || error instanceof SafetensorsError) {
    const where = decl === undefined ? '' : `${decl.span.file}:${decl.span.start.line}: `;
    io.err(`scion inherit: ${where}${error.message}\n`);
    return EXIT.inputError;
  }
  return reportLowerError(error, io);
}

export const run = command(SPEC, async ({ flags, args: [file] }, io) => {
  const a = argsOf(flags, file);
  const dir = isAbsolute(a.out) ? a.out : resolve(io.cwd, a.out);
  checkOutputDir(dir, a.out);
  refuseOwnInput(join(dir, 'model.safetensors'), join(a.out, 'model.safetensors'), [a.parent === undefined ? undefined : absolute(io.cwd, a.parent)]);
  refuseOwnInput(join(dir, 'provenance.json'), join(a.out, 'provenance.json'), [a.replay === undefined ? undefined : absolute(io.cwd, a.replay)]);
  // One inherit or train at a time writes DIR: a second is refused naming the first's pid.
  return inRunFolder(
    dir,
    'scion inherit',
    (line) => io.err(`${line}\n`),
    () => (a.replay !== undefined ? replay(a, dir, io) : inherit(a, dir, io)),
  );
});

async function inherit(a: Args, dir: string, io: Io): Promise<number> {
  const program = loadSpec(a.file!, io, 'inherit');
  if (program === undefined) return EXIT.inputError;
  // `inherit C from P` and `prune P [to C]` both make a child; --child picks one by its name.
  const decls = program.decls.filter((d): d is InheritDecl | PruneDecl => d.kind === 'inherit' || d.kind === 'prune');
  const childOf = (d: InheritDecl | PruneDecl): string => (d.kind === 'inherit' ? d.child.name : (d.to ?? d.model).name);
  const chosen = a.child === undefined ? decls[0] : decls.find((d) => childOf(d) === a.child);
  if (chosen === undefined) {
    const names = decls.map(childOf);
    io.err(
      `scion inherit: ${a.child === undefined ? 'the spec has no inherit or prune declaration' : `no inherit or prune declaration makes '${a.child}' (declared: ${names.join(', ') || 'none'})`}\n`,
    );
    return EXIT.inputError;
  }
  if (a.child === undefined && decls.length > 1) {
    io.err(`scion inherit: the spec has ${decls.length} inherit/prune declarations (${decls.map(childOf).join(', ')}); choose one with --child\n`);
    return EXIT.usage;
  }
  if (chosen.kind === 'prune' && a.parent === undefined)
    throw usageError(SPEC, `prune ${chosen.model.name} names no checkpoint: give the unpruned one with --parent`);
  let decl: InheritDecl | undefined = chosen.kind === 'inherit' ? chosen : undefined;
  try {
    const rest = {
      ...(a.tokenizer === undefined ? {} : { tokenizerPath: a.tokenizer }),
      ...(a.calibBatches === undefined ? {} : { calibBatches: a.calibBatches }),
      ...(a.calibSeq === undefined ? {} : { calibSeq: a.calibSeq }),
      log: (l: string) => (a.json ? undefined : io.err(`${l}\n`)),
    };
    const ctx =
      chosen.kind === 'prune'
        ? pruneContext([program], chosen, a.parent!, io.cwd, rest)
        : { programs: [program], decl: chosen, cwd: io.cwd, ...(a.parent === undefined ? {} : { parentPath: a.parent }), ...rest };
    decl = ctx.decl;
    const out = await runInheritance(ctx, dir, progressOf(io, a.json));
    const inherited = Object.values(out.provenance.tensors).filter((t) => t.parent !== undefined).length;
    if (a.json)
      io.out(
        `${JSON.stringify({ dir, files: out.files, tensors: out.tensors, bytes: out.bytes, inherited, initialized: Object.keys(out.provenance.tensors).length - inherited, layers: out.provenance.layers ?? null, vocab: out.provenance.vocab === undefined ? null : { size: out.provenance.vocab.size, coverage: out.provenance.vocab.coverage } })}\n`,
      );
    else {
      io.out(
        `${decl.child.name} ← ${decl.parent.name}: ${inherited} tensors inherited, ${Object.keys(out.provenance.tensors).length - inherited} initialized, ${(out.bytes / 1048576).toFixed(1)} MiB\n`,
      );
      if (out.provenance.layers !== undefined) io.out(`  layers kept: [${out.provenance.layers.join(', ')}]\n`);
      if (out.provenance.vocab !== undefined)
        io.out(`  vocabulary: ${out.provenance.vocab.size} tokens, coverage ${((out.provenance.vocab.coverage ?? 1) * 100).toFixed(2)}%\n`);
      io.out(`  wrote ${out.files.map((f) => f.slice(dir.length + 1)).join(', ')} in ${a.out}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    // The spec's text, for source excerpts under each refusal (loadSpec read it a moment ago).
    const sources = new Map([[program.file, readFileSync(isAbsolute(a.file!) ? a.file! : resolve(io.cwd, a.file!), 'utf8')]]);
    return reportInheritError(error, io, decl ?? chosen, sources);
  }
}

async function replay(a: Args, dir: string, io: Io): Promise<number> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(io.cwd, p));
  try {
    const { provenance, plans, tied } = await readProvenance(abs(a.replay!));
    const reader = await openSafetensors(abs(a.parent!));
    try {
      // A sibling must have the same tensors with the same shapes the selection was made on.
      const problems: string[] = [];
      for (const t of plans) {
        const rec = provenance.tensors[t.name];
        if (rec?.parent === undefined || rec.parentShape === undefined) continue;
        const s = reader.tensors.get(rec.parent)?.shape;
        if (s === undefined) problems.push(`the parent has no tensor '${rec.parent}'`);
        else if (s.join() !== rec.parentShape.join())
          problems.push(`'${rec.parent}' is [${s.join(', ')}], the recorded parent's was [${rec.parentShape.join(', ')}]`);
      }
      if (problems.length > 0) throw new InheritError(problems);
      const { bytes, tensors } = await writeChild(
        join(dir, 'model.safetensors'),
        plans,
        reader,
        {
          format: 'pt',
          ...(provenance.child.model === undefined ? {} : { scion_model: provenance.child.model }),
          ...(provenance.child.preset === undefined ? {} : { scion_preset: provenance.child.preset }),
        },
        progressOf(io, a.json),
        new Set(tied.keys()),
      );
      const next = provenanceOf(
        plans,
        reader,
        {
          parent: { ...provenance.parent, path: abs(a.parent!) },
          child: provenance.child,
          ...(provenance.layers === undefined ? {} : { layers: provenance.layers }),
          ...(provenance.vocab === undefined ? {} : { vocab: provenance.vocab }),
        },
        tied,
      );
      writeFileSync(join(dir, 'provenance.json'), `${JSON.stringify(next)}\n`);
      // config.json and tokenizer.json describe the child, not the parent: carry them over.
      for (const f of ['config.json', 'tokenizer.json']) {
        const from = join(dirname(abs(a.replay!)), f);
        if (existsSync(from) && resolve(from) !== resolve(join(dir, f))) copyFileSync(from, join(dir, f));
      }
      if (a.json) io.out(`${JSON.stringify({ dir, tensors, bytes })}\n`);
      else io.out(`replayed ${a.replay} on ${a.parent}: ${tensors} tensors, ${(bytes / 1048576).toFixed(1)} MiB in ${a.out}\n`);
      return EXIT.ok;
    } finally {
      await reader.close();
    }
  } catch (error) {
    return reportInheritError(error, io, undefined);
  }
}
