// From an `inherit` declaration to a child checkpoint: lower parent and child, read the selection
// fields, choose layers and units (scoring the parent where asked), build the plan, check it
// against the parent checkpoint's header, then write model.safetensors, config.json,
// tokenizer.json (when the vocabulary changed) and provenance.json.
//
// The stages live in folders, in the order the job runs them: spec/ (read and validate the
// declaration), layout/ (what units and axes a model has), score/ (data-driven scores), select/
// (which layers and units to keep), write/ (the tensor plan, the transfer, provenance), adapters/
// (LoRA/PiSSA factors) and prune/ (a `prune` declaration as an inheritance). types.ts holds what
// they share.

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Program, PruneDecl } from '../../grammar/ast.ts';
import { PARAM_INIT_NAMES, paramInit, resolveInit, type Init } from '../../compiler/layers/init.ts';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan, writeConfig, type PlanEntry } from '../../compiler/presets/index.ts';
import { fromCheckpoint } from '../../compiler/presets/mapping.ts';
import { namingPreset } from '../../compiler/presets/index.ts';
import { openSafetensors, type SafetensorsReader } from '../../runtime/weights/index.ts';
import { compressVocab, readTokenizerJson, writeTokenizerJson, type BpeTokenizer } from '../../runtime/tokenizer/index.ts';
import { loadBrown, readTextSource, type BrownSplit } from '../../runtime/data/index.ts';
import { adaptersOn, planAdapter, writeAdapter } from './adapters/adapter-out.ts';
import { calibBatches } from './score/calib.ts';
import { chooseUnits, groupTargets, normScorer, type UnitRule } from './select/choose.ts';
import { createDataScoring } from './score/data-scoring.ts';
import { lmShape } from './score/probe.ts';
import { toCheckpointPlan, type CheckpointTensorPlan } from './write/checkpoint.ts';
import { InheritError, layerStack, type ModelLayout } from './layout/layout.ts';
import { layoutOf } from './layout/layout-from-model.ts';
import { buildPlan } from './write/plan.ts';
import { provenanceOf } from './write/provenance.ts';
import { prunedModel } from './prune/prune.ts';
import { InheritRefusal, staticLayers, validateInheritance, type Validated } from './spec/validate.ts';
import type { DataRef, InheritSpec, LayerRuleSpec, UnitRuleSpec } from './spec/spec-fields.ts';
import type { Dense } from './tensor-ops.ts';
import { writeChild } from './write/transfer.ts';
import { isImageDiffusion, unetScoring } from './score/unet-scoring.ts';
import type { DataScoring, InheritContext, InheritOutput, InheritPlan } from './types.ts';

const abs = (cwd: string, p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));

/** Reads a parent parameter in Scion layout (through the preset), caching the last entry read. */
export function scionReader(reader: SafetensorsReader, parent: LoweredModel, entries: readonly PlanEntry[]): (path: string) => Promise<Dense> {
  const preset = namingPreset(parent.instance.preset);
  const byPart = new Map<string, PlanEntry>();
  for (const e of entries) for (const p of e.parts) byPart.set(p.path, e);
  let last: { entry: PlanEntry; values: Map<string, Dense> } | undefined;
  return async (path) => {
    const entry = byPart.get(path);
    if (entry === undefined) throw new Error(`bug: no checkpoint entry holds '${path}'`);
    if (last?.entry !== entry) {
      const values = await fromCheckpoint(
        preset,
        [entry],
        (n) => reader.tensors.get(n)?.shape,
        [],
        async (n) => {
          const raw = await reader.read(n);
          return { shape: reader.tensors.get(n)!.shape, data: raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>) };
        },
      );
      last = { entry, values };
    }
    return last.values.get(path)!;
  };
}

async function corpusTexts(ref: DataRef | undefined, cwd: string): Promise<string[]> {
  if (ref === undefined) return loadBrown('train').map((d) => d.text);
  if (ref.source === 'brown') return loadBrown((ref.args.split ?? 'train') as BrownSplit).map((d) => d.text);
  if (ref.source === 'text' && typeof ref.args.path === 'string') return (await readTextSource(abs(cwd, ref.args.path))).map((d) => d.text);
  throw new InheritError([`compress: corpus ${ref.source}(…) is not supported; use brown(split) or text(path)`]);
}

/** A named initializer for fresh ≥2-D tensors (`init = xavier_uniform`), else the family's rule. */
function initOverride(name: string | undefined, shape: readonly number[]): Init | undefined {
  if (name === undefined || shape.length < 2) return undefined;
  const init = paramInit(name, shape);
  if (init === undefined) throw new InheritError([`init = ${name} is not an initializer for inherited models (${PARAM_INIT_NAMES.join(', ')})`]);
  return init;
}

async function chooseLayers(rule: LayerRuleSpec | undefined, parent: ModelLayout, child: ModelLayout, data: () => DataScoring): Promise<number[] | undefined> {
  if (rule?.kind !== 'block_influence' && rule?.kind !== 'drop_one') return staticLayers(rule, parent, child);
  // Keep the layers whose removal matters most, in their original order (ties: the lower index).
  const depth = layerStack(child)!.depth;
  const scores = await data().layerScores(rule.kind, rule.calib);
  const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return order.slice(0, depth).sort((a, b) => a - b);
}

/** The parent's tokenizer: --tokenizer, tokenizer.json beside the checkpoint, or the spec's compress(tokenizer). */
async function parentTokenizer(ctx: InheritContext, spec: InheritSpec): Promise<BpeTokenizer> {
  const beside = join(dirname(abs(ctx.cwd, ctx.parentPath ?? ctx.decl.at.value)), 'tokenizer.json');
  const candidates = [
    ctx.tokenizerPath === undefined ? undefined : abs(ctx.cwd, ctx.tokenizerPath),
    beside,
    spec.vocab?.tokenizer === undefined ? undefined : abs(ctx.cwd, spec.vocab.tokenizer),
  ];
  const path = candidates.find((p) => p !== undefined && existsSync(p));
  if (path === undefined)
    throw new InheritError([
      `data-driven selection encodes calibration text with the parent's tokenizer, but there is no ${beside}; pass --tokenizer or add \`vocab = compress(tokenizer = …)\``,
    ]);
  return readTokenizerJson(path);
}

/** The first `seq` a calibration source of the spec names. */
function specSeq(spec: InheritSpec): number | undefined {
  const refs = [
    spec.layers?.kind === 'block_influence' || spec.layers?.kind === 'drop_one' ? spec.layers.calib : undefined,
    ...Object.values(spec.units).map((u) => (u.kind === 'metric' ? u.calib : undefined)),
  ];
  const seq = refs.find((r) => typeof r?.args.seq === 'number')?.args.seq;
  return typeof seq === 'number' ? seq : undefined;
}

/**
 * The parent lowered with a `seq`-token window, when that differs from its ctx: the model parameter
 * that sets the token input's length is overridden, provided no weight's shape depends on it
 * (learned position tables do); otherwise the parent's own window is used.
 */
export function parentAtSeq(programs: readonly Program[], name: string, parent: LoweredModel, seq: number, log?: (l: string) => void): LoweredModel {
  const ctxLen = lmShape(parent).ctx;
  if (seq === ctxLen) return parent;
  const shapes = (m: LoweredModel) => m.params.map((p) => `${p.path}:${p.shape.join('x')}`).join(';');
  const candidates = Object.entries(parent.instance.params)
    .filter(([, v]) => v === ctxLen)
    .map(([k]) => k)
    .sort((a, b) => Number(b === 'ctx') - Number(a === 'ctx'));
  for (const k of candidates) {
    try {
      const m = lowerModel([...programs], name, { overrides: { [k]: seq } });
      if (lmShape(m).ctx === seq && shapes(m) === shapes(parent)) return m;
    } catch (error) {
      if (!(error instanceof Error)) throw error;
    }
  }
  log?.(`calibration: the parent's window of ${ctxLen} tokens cannot change to seq = ${seq}; using ${ctxLen}`);
  return parent;
}

/** The default DataScoring: the parent on the reference interpreter, one [1, seq] window per batch row. */
function cpuScoring(ctx: InheritContext, spec: InheritSpec, parent0: LoweredModel, read: (path: string) => Promise<Dense>): DataScoring {
  let tokenizer: Promise<BpeTokenizer> | undefined;
  const seq = ctx.calibSeq ?? specSeq(spec);
  const parent = seq === undefined ? parent0 : parentAtSeq(ctx.programs, ctx.decl.parent.name, parent0, seq, ctx.log);
  return createDataScoring({
    parent,
    read,
    batches: async (ref) => {
      tokenizer ??= parentTokenizer(ctx, spec);
      return calibBatches(ref, await tokenizer, lmShape(parent), { cwd: ctx.cwd, ...(ctx.calibBatches === undefined ? {} : { batches: ctx.calibBatches }) });
    },
    ...(ctx.log === undefined ? {} : { log: ctx.log }),
  });
}

/**
 * An InheritContext for `prune MODEL [to NAME]` on the checkpoint at `parentPath`: the same
 * selection engine, with the child being MODEL at the pruned sizes.
 *
 * @example
 * await runInheritance(pruneContext([program], decl, 'runs/parent/model.safetensors', cwd), 'runs/pruned');
 */
export function pruneContext(
  programs: readonly Program[],
  decl: PruneDecl,
  parentPath: string,
  cwd: string,
  rest: Partial<InheritContext> = {},
): InheritContext {
  const pruned = prunedModel(programs, decl, lowerModel([...programs], decl.model.name), parentPath);
  if (pruned.schedule !== 'one_shot')
    rest.log?.(`prune ${decl.model.name}: schedule ${pruned.schedule} runs during training (pruneStep); applying the final sizes in one shot`);
  return { ...rest, programs, decl: pruned.spec.decl, cwd, parentPath, pruned };
}

/**
 * Plans the inheritance of `decl`: first the validation `scion check` runs (validate.ts), so a
 * declaration is refused before any weight is read; then scoring reads the parent only where a
 * metric needs its weights.
 */
export async function planInheritance(ctx: InheritContext, reader: SafetensorsReader, validated?: Required<Validated>): Promise<InheritPlan> {
  const { spec, parent, child } = validated ?? (await validOrThrow(ctx));
  const parentEntries = checkpointPlan(parent);
  const childEntries = checkpointPlan(child);
  const pl = layoutOf(parent);
  const cl = layoutOf(child);
  const read = scionReader(reader, parent, parentEntries);
  let scoring: DataScoring | undefined;
  const data = (): DataScoring => {
    const image = (p: LoweredModel, r: (path: string) => Promise<Dense>) =>
      unetScoring(p, r, { ...(ctx.calibBatches === undefined ? {} : { batches: ctx.calibBatches }), ...(ctx.log === undefined ? {} : { log: ctx.log }) });
    scoring ??= (ctx.dataScoring ?? (isImageDiffusion(parent) ? image : (p, r) => cpuScoring(ctx, spec, p, r)))(parent, read);
    return scoring;
  };
  const layers = await chooseLayers(spec.layers, pl, cl, data);
  const rules: Partial<Record<'dim' | 'heads' | 'ffn' | 'channels', UnitRule>> = {};
  for (const [kind, r] of Object.entries(spec.units) as ['dim' | 'heads' | 'ffn' | 'channels', UnitRuleSpec][]) {
    if (r.kind === 'list') rules[kind] = { kind: 'indices', keep: r.keep };
    else if (r.metric === 'l1' || r.metric === 'l2') rules[kind] = { kind: 'metric', name: r.metric, score: normScorer(r.metric === 'l1' ? 1 : 2, read) };
    else
      rules[kind] = data().unitRule(
        kind,
        r,
        groupTargets(pl, cl, { ...(layers === undefined ? {} : { layers }), ...(spec.blocks === undefined ? {} : { blocks: spec.blocks.map }) }),
      );
  }
  let vocab: InheritPlan['vocab'];
  if (spec.vocab?.kind === 'compress') {
    const tok = await readTokenizerJson(abs(ctx.cwd, spec.vocab.tokenizer!));
    ctx.log?.(`compressing the vocabulary of ${spec.vocab.tokenizer} (${tok.size} tokens)`);
    const size = spec.vocab.size ?? (spec.vocab.coverage === undefined ? cl.params.find((p) => p.path.endsWith('embed_tokens.weight'))?.shape[0] : undefined);
    const c = compressVocab(tok, await corpusTexts(spec.vocab.corpus, ctx.cwd), {
      ...(size === undefined ? {} : { size }),
      ...(spec.vocab.coverage === undefined ? {} : { coverage: spec.vocab.coverage }),
    });
    vocab = { tokenizer: c.tokenizer, newToOld: Array.from(c.newToOld), coverage: c.coverage };
  }
  const vocabKeep = vocab?.newToOld ?? (spec.vocab?.kind === 'list' ? spec.vocab.keep : undefined);
  const blocks = spec.blocks?.map;
  const { groups, choices } = await chooseUnits({
    parent: pl,
    child: cl,
    rules,
    map: { ...(layers === undefined ? {} : { layers }), ...(blocks === undefined ? {} : { blocks }) },
    ...(vocabKeep === undefined ? {} : { vocab: vocabKeep }),
  });
  const plan = buildPlan({
    parent: pl,
    child: cl,
    map: { ...(layers === undefined ? {} : { layers }), ...(blocks === undefined ? {} : { blocks }) },
    groups,
    choices,
    except: spec.except.map((e) => e.pattern),
  });
  const infos = new Map(child.params.map((p) => [p.path, p]));
  const initOf = (path: string): Init =>
    initOverride(spec.init?.name, infos.get(path)?.shape ?? []) ?? infos.get(path)?.init ?? resolveInit('torch', { kind: 'norm_bias' });
  const plans = toCheckpointPlan(plan, childEntries, parentEntries, initOf, spec.seed);
  return {
    spec,
    parent,
    child,
    plans,
    ...(layers === undefined ? {} : { layers }),
    choices,
    ...(vocab === undefined ? {} : { vocab }),
    tied: tiedPairs(plans, reader),
  };
}

/** Child tensors whose values equal another's because both read one parent tensor the same way. */
function tiedPairs(plans: readonly CheckpointTensorPlan[], reader: SafetensorsReader): Map<string, string> {
  const tied = new Map<string, string>();
  for (const t of plans) {
    if (t.source.kind !== 'parent' || reader.tensors.has(t.source.parent)) continue;
    // The parent lacks this tensor and is read through a fallback: a tied head in the parent.
    const via = t.source.parentFallbacks.find((n) => reader.tensors.has(n));
    const twin = plans.find(
      (u) =>
        u !== t &&
        u.source.kind === 'parent' &&
        u.source.parent === via &&
        JSON.stringify(u.source.keep) === JSON.stringify((t.source as { keep: unknown }).keep),
    );
    if (twin !== undefined) tied.set(t.name, twin.name);
  }
  return tied;
}

/** The declaration validated as `scion check` does (validate.ts); throws InheritRefusal if refused. */
async function validOrThrow(ctx: InheritContext): Promise<Required<Validated>> {
  const v = await validateInheritance(ctx.programs, ctx.decl, ctx.pruned === undefined ? undefined : { spec: ctx.pruned.spec, child: ctx.pruned.child });
  if (v.diagnostics.length > 0 || v.spec === undefined || v.parent === undefined || v.child === undefined) throw new InheritRefusal(v.diagnostics);
  return { diagnostics: v.diagnostics, spec: v.spec, parent: v.parent, child: v.child };
}

/** Plans and writes the child checkpoint into `dir`. */
export async function runInheritance(ctx: InheritContext, dir: string, progress?: (done: number, total: number, name: string) => void): Promise<InheritOutput> {
  const parentPath = abs(ctx.cwd, ctx.parentPath ?? ctx.decl.at.value);
  const validated = await validOrThrow(ctx); // before the checkpoint is even opened
  const reader = await openSafetensors(parentPath);
  try {
    const p = await planInheritance(ctx, reader, validated);
    const preset = p.child.instance.preset;
    const files: string[] = [];
    const model = join(dir, 'model.safetensors');
    const meta: Record<string, string> = { format: 'pt', scion_model: ctx.decl.child.name, ...(preset === undefined ? {} : { scion_preset: preset }) };
    const adapters = [];
    for (const d of adaptersOn(ctx.programs, ctx.decl.child.name)) {
      ctx.log?.(`adapter ${d.name.name}: initializing LoRA factors from the child's weights`);
      adapters.push(await planAdapter(d, p.child, p.plans, reader, p.spec.seed));
    }
    const residuals = new Map<string, Float32Array>();
    for (const a of adapters) {
      for (const [name, v] of a.residuals) {
        if (residuals.has(name) || p.tied.has(name))
          throw new InheritError([
            `adapter ${a.spec.name}: '${name}' would hold a PiSSA residual ${residuals.has(name) ? 'of two adapters' : 'but is tied to another tensor'}`,
          ]);
        residuals.set(name, v);
      }
    }
    const { bytes, tensors } = await writeChild(model, p.plans, reader, meta, progress, new Set(p.tied.keys()), residuals);
    files.push(model);
    for (const a of adapters) files.push(...(await writeAdapter(dir, a, p.child)));
    if (preset !== undefined) {
      const config = {
        ...writeConfig(preset, p.child),
        ...(p.tied.size > 0 && 'tie_word_embeddings' in writeConfig(preset, p.child) ? { tie_word_embeddings: true } : {}),
      };
      writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      files.push(join(dir, 'config.json'));
    }
    if (p.vocab !== undefined) {
      await writeTokenizerJson(join(dir, 'tokenizer.json'), p.vocab.tokenizer);
      files.push(join(dir, 'tokenizer.json'));
    }
    const provenance = provenanceOf(
      p.plans,
      reader,
      {
        parent: { path: parentPath, model: ctx.decl.parent.name, ...(p.parent.instance.preset === undefined ? {} : { preset: p.parent.instance.preset }) },
        child: { model: ctx.decl.child.name, ...(preset === undefined ? {} : { preset }) },
        ...(p.layers === undefined ? {} : { layers: p.layers }),
        ...(p.vocab === undefined ? {} : { vocab: { size: p.vocab.newToOld.length, coverage: p.vocab.coverage, newToOld: p.vocab.newToOld } }),
      },
      p.tied,
    );
    for (const a of adapters) {
      for (const name of a.residuals.keys()) {
        const t = provenance.tensors[name];
        if (t !== undefined) t.residualOf = { adapter: a.spec.name, scale: a.spec.alpha / a.spec.rank };
      }
    }
    writeFileSync(join(dir, 'provenance.json'), `${JSON.stringify(provenance)}\n`);
    files.push(join(dir, 'provenance.json'));
    return { dir, files, tensors, bytes, provenance };
  } finally {
    await reader.close();
  }
}
