// The one validation of an `inherit` declaration, shared by `scion check` (pre-flight) and
// `scion inherit` (before any weight is read): lower parent and child, read the fields, and run
// the selection engine itself — layers, units, vocabulary, the tensor plan — with placeholder
// scores, since scores choose *which* units stay but never *whether* a selection can be made.
// So what inherit would refuse, check refuses too, at the spec line the problem belongs to.
//
// What stays for run time: data the declaration only names (a corpus that `compress(coverage)`
// measures, calibration text, the tokenizer), and the checkpoint when it does not exist yet. A
// data-driven layer rule is checked with the first child-depth layers standing in for the ones
// the data will pick: exact for a stack of identical layers, which is what the families build.

import type { Field, InheritDecl, Program, Span } from '../../../grammar/ast.ts';
import type { Code } from '../../../grammar/diagnostics/catalog.ts';
import type { Diagnostic } from '../../../grammar/diagnostics/diagnostic.ts';
import { diag } from '../../../grammar/diagnostics/make.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { PARAM_INIT_NAMES } from '../../../compiler/layers/init.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { chooseUnits, type Scorer, type UnitRule } from '../select/choose.ts';
import { InheritError, layerStack, type ModelLayout } from '../layout/layout.ts';
import { layoutOf } from '../layout/layout-from-model.ts';
import { buildPlan } from '../write/plan.ts';
import { explicitKeep, keepEnds } from '../select/select.ts';
import { FieldError, readInheritSpec, type InheritSpec, type LayerRuleSpec } from './spec-fields.ts';

/** Initializers an inherited child's fresh tensors may name with `init = …`. */

/** A refusal found before any weight is read; `diagnostics` say each reason at its spec line. */
export class InheritRefusal extends InheritError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message));
    this.name = 'InheritRefusal';
  }
}

/**
 * The parent layers a child keeps for a rule that needs no data (a list, keep_ends), or, for a
 * data-driven rule, the first child-depth layers as a stand-in with the same shapes; undefined
 * when the stack is inherited whole.
 */
export function staticLayers(rule: LayerRuleSpec | undefined, parent: ModelLayout, child: ModelLayout): number[] | undefined {
  const ps = layerStack(parent);
  const cs = layerStack(child);
  if (rule === undefined) {
    if (ps !== undefined && cs !== undefined && ps.depth !== cs.depth)
      throw new InheritError([
        `the child has ${cs.depth} layers and the parent ${ps.depth}; declare \`layers = keep_ends(first = 1, last = 1)\` or an index list`,
      ]);
    return undefined;
  }
  if (ps === undefined || cs === undefined) throw new InheritError(['`layers` is set but the models have no layer stack (layers.N, blocks.N or h.N)']);
  switch (rule.kind) {
    case 'list':
      return explicitKeep(rule.keep, ps.depth, cs.depth, 'layer');
    case 'keep_ends':
      return keepEnds(ps.depth, cs.depth, rule.first, rule.last);
    case 'block_influence':
    case 'drop_one':
      if (cs.depth > ps.depth)
        throw new InheritError([`the child has depth ${cs.depth}, more than the parent's ${ps.depth}; inheritance can only drop layers`]);
      return Array.from({ length: cs.depth }, (_, i) => i);
  }
}

export interface Validated {
  readonly diagnostics: Diagnostic[];
  /** Present when the declaration could be read and both models lowered. */
  readonly spec?: InheritSpec;
  readonly parent?: LoweredModel;
  readonly child?: LoweredModel;
}

const fieldOf = (decl: InheritDecl, key: string): Field | undefined => decl.fields.find((f) => f.key === key);

/** Every unit scores 0: ties keep the lowest indices, and the shapes are those of any real run. */
const zeroScores: Scorer = async (g) => ({
  scores: new Float64Array(g.units),
  ...(g.kv === undefined ? {} : { kvScores: new Float64Array(g.kv.units) }),
});

/** Where a refusal of a field is reported, and under which code. */
function placeOf(decl: InheritDecl, field: string | undefined, layersRule: LayerRuleSpec | undefined, message: string): { code: Code; span: Span } {
  const f = field === undefined ? undefined : fieldOf(decl, field);
  const span = f?.value.span ?? decl.child.span;
  if (field === 'heads') return { code: 'E0805', span };
  if (field === 'vocab' && / is out of range/.test(message)) return { code: 'E0806', span };
  if (field === 'layers') return { code: layersRule?.kind === 'keep_ends' ? 'E0606' : layersRule?.kind === 'list' ? 'E0605' : 'E0612', span };
  return { code: 'E0612', span };
}

/**
 * Validates one inherit declaration without reading a weight. `given` replaces what the
 * declaration would give (a `prune` declaration's synthesized spec and child).
 *
 * @example
 * const { diagnostics } = await validateInheritance([program], decl);
 */
export async function validateInheritance(
  programs: readonly Program[],
  decl: InheritDecl,
  given: { spec: InheritSpec; child: LoweredModel } | undefined = undefined,
): Promise<Validated> {
  const out: Diagnostic[] = [];
  let spec: InheritSpec;
  try {
    spec =
      given?.spec ??
      readInheritSpec(
        decl,
        programs.flatMap((p) => p.decls),
      );
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return { diagnostics: [diag(error.code, error.span, error.message)] };
  }
  let parent: LoweredModel;
  let child: LoweredModel;
  try {
    parent = lowerModel([...programs], decl.parent.name);
    child = given?.child ?? lowerModel([...programs], decl.child.name);
  } catch (error) {
    if (!(error instanceof LowerError)) throw error;
    return { diagnostics: [error.diagnostic], spec };
  }
  const refuse = (error: unknown, field: string | undefined, code?: Code) => {
    if (!(error instanceof InheritError)) throw error;
    error.problems.forEach((message, i) => {
      const where = placeOf(decl, error.fields[i] ?? field, spec.layers, message);
      out.push(diag(code ?? where.code, where.span, message));
    });
  };
  let pl: ModelLayout;
  let cl: ModelLayout;
  try {
    pl = layoutOf(parent);
    cl = layoutOf(child);
  } catch (error) {
    refuse(error, undefined);
    return { diagnostics: out, spec, parent, child };
  }

  if (spec.init !== undefined && !(PARAM_INIT_NAMES as readonly string[]).includes(spec.init.name))
    out.push(diag('E0801', spec.init.span, `init = ${spec.init.name} is not an initializer for inherited models (${PARAM_INIT_NAMES.join(', ')})`));

  // Learned masks of several fields are trained together, on one calibration source for the
  // most steps asked: a second calib or steps would be ignored, so they must agree.
  const masks = Object.entries(spec.units).flatMap(([k, u]) => (u.kind === 'metric' && u.metric === 'learned_mask' ? [{ k, u }] : []));
  const first = masks[0];
  for (const { k, u } of masks.slice(1)) {
    const key = (x: typeof u) => JSON.stringify([x.calib === undefined ? null : [x.calib.source, x.calib.args], x.steps]);
    if (first !== undefined && key(u) !== key(first.u))
      out.push(
        diag('E0611', u.span, `the learned masks of \`${first.k}\` and \`${k}\` are trained together, so this calib or steps would be ignored`, {
          suggestion: `give every learned_mask the same calib and steps as \`${first.k}\``,
        }),
      );
  }

  let layers: number[] | undefined;
  try {
    layers = staticLayers(spec.layers, pl, cl);
  } catch (error) {
    refuse(error, 'layers');
    return { diagnostics: out, spec, parent, child };
  }
  const rules: Partial<Record<'dim' | 'heads' | 'ffn' | 'channels', UnitRule>> = {};
  for (const [kind, r] of Object.entries(spec.units) as ['dim' | 'heads' | 'ffn' | 'channels', InheritSpec['units']['dim'] & {}][])
    rules[kind] = r.kind === 'list' ? { kind: 'indices', keep: r.keep } : { kind: 'metric', name: r.metric, score: zeroScores };
  // compress keeps `size` tokens (default: the child's vocabulary); which ones is the corpus's say.
  // With `coverage` alone the count is the corpus's too, so the child's vocabulary stands in.
  const childVocab = cl.params.find((p) => p.path.endsWith('embed_tokens.weight') || p.path === 'wte.weight')?.shape[0];
  const vocabSize = spec.vocab?.kind === 'compress' ? (spec.vocab.size ?? childVocab) : undefined;
  const vocab = spec.vocab?.kind === 'list' ? spec.vocab.keep : vocabSize === undefined ? undefined : Array.from({ length: vocabSize }, (_, i) => i);
  const map = { ...(layers === undefined ? {} : { layers }), ...(spec.blocks === undefined ? {} : { blocks: spec.blocks.map }) };
  let chosen: Awaited<ReturnType<typeof chooseUnits>>;
  try {
    chosen = await chooseUnits({ parent: pl, child: cl, map, rules, ...(vocab === undefined ? {} : { vocab }) });
  } catch (error) {
    refuse(error, undefined);
    return { diagnostics: out, spec, parent, child };
  }
  try {
    buildPlan({ parent: pl, child: cl, map, groups: chosen.groups, choices: chosen.choices, except: spec.except.map((e) => e.pattern) });
  } catch (error) {
    if (!(error instanceof InheritError)) throw error;
    refuse(new InheritError(mergeTensorLayers(error.problems, layerStack(cl)?.depth)), undefined, 'E0808');
  }
  return { diagnostics: out, spec, parent, child };
}

/** Per-tensor problems said once for the same tensor of every layer (`layers.N.…` in every layer). */
export function mergeTensorLayers(problems: readonly string[], depth: number | undefined): string[] {
  const seen = new Map<string, Set<number>>();
  for (const p of problems) {
    const key = p.replace(/\b(layers|blocks|h)\.(\d+)\./g, '$1.N.');
    const layers = seen.get(key) ?? new Set<number>();
    for (const m of p.matchAll(/\b(?:layers|blocks|h)\.(\d+)\./g)) layers.add(Number(m[1]));
    seen.set(key, layers);
  }
  return [...seen].map(([key, layers]) => {
    if (layers.size <= 1) return problems.find((p) => p.replace(/\b(layers|blocks|h)\.(\d+)\./g, '$1.N.') === key)!;
    return `${key} (in ${layers.size === depth ? 'every layer' : `layers ${[...layers].join(', ')}`})`;
  });
}
