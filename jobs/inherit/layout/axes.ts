// Dependency groups ("axes"): the sets of tensor axes that must be sliced with the same indices,
// declared once per layer kind (its entry in INHERIT_RULES, layer-rules.ts). A group has `units` selectable units; each member says where they
// lie on one axis of one tensor (offset, elements per unit). Selecting units of a group slices
// every member identically, so the sliced model computes the same function on what it keeps.
//
//   residual width (`dim`) — embeddings' columns, every norm, every projection's input columns and
//                            output rows on the residual stream, the LM head's input columns;
//   heads                  — q rows and o columns by head; k/v rows by KV head (GQA: `kv` below);
//   ffn                    — gate and up rows, down columns (SwiGLU); fc1 rows and fc2 columns (MLP);
//   channels               — a ResBlock's inner channels by whole GroupNorm groups: conv1 rows,
//                            time_emb_proj rows, norm2, conv2 input channels; an AttnBlock's
//                            q/k/v width per head; the timestep MLP's hidden width; and the UNet
//                            channel spaces between layers (channels.ts);
//   vocab                  — token-embedding rows and LM-head rows together.
// Layers (whole blocks, renumbered) are not an axis group: see layerStack in layout.ts.

import { InheritError, layerStack, paramMap, residualWidth, type ModelLayout, type ModuleEntry, type ParamEntry } from './layout.ts';
import { axisMember as m, inheritRule, present, shapeOf, type AxisGroup, type AxisMember, type GroupKind } from './layer-rules.ts';

export type { AxisGroup, AxisMember, GroupKind } from './layer-rules.ts';

/** Groups inside one module (heads, ffn, channels), by its layer's entry in INHERIT_RULES (layer-rules.ts). */
export function moduleGroups(layout: ModelLayout, mod: ModuleEntry, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): AxisGroup[] {
  const p = mod.path;
  const group = (kind: GroupKind, units: number, members: AxisMember[], kv?: AxisGroup['kv']): AxisGroup =>
    kv === undefined
      ? { key: `${p}:${kind}`, kind, module: p, units, members: present(params, members) }
      : { key: `${p}:${kind}`, kind, module: p, units, members: present(params, members), kv };
  return inheritRule(mod.kind)?.groups?.({ path: p, mod, params, group }) ?? [];
}

/** The residual-width group; throws when a module on the stream has no rule (it could not be sliced). */
export function residualGroup(layout: ModelLayout, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): AxisGroup {
  const width = residualWidth(layout);
  if (width === undefined) throw new InheritError(['width selection needs a token Embedding or a norm to know the residual width']);
  const members: AxisMember[] = [];
  const unknown: string[] = [];
  for (const mod of layout.modules) {
    const rule = inheritRule(mod.kind)?.residual;
    if (rule !== undefined) members.push(...present(params, rule(mod.path, width, params)));
    else if (layout.params.some((q) => q.path.startsWith(`${mod.path}.`) && q.shape.includes(width))) unknown.push(`${mod.path} (${mod.kind})`);
  }
  if (unknown.length > 0)
    throw new InheritError([
      `width selection does not know how to slice ${unknown.join(', ')}: only transformer LMs (Embedding, norms, Attention, SwiGLU, MLP, Linear) can change their residual width`,
    ]);
  return { key: 'dim', kind: 'dim', module: '', units: width, members };
}

/** The vocabulary group: token-embedding rows and every LM head (a Linear from the residual to the vocabulary). */
export function vocabGroup(layout: ModelLayout, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): AxisGroup | undefined {
  const emb = layout.modules.find((x) => x.kind === 'Embedding');
  if (emb === undefined) return undefined;
  const [vocab, width] = shapeOf(params, `${emb.path}.weight`) as [number, number];
  const members = [m(`${emb.path}.weight`, 0)];
  for (const mod of layout.modules) {
    if (mod.kind !== 'Linear') continue;
    const s = params.get(`${mod.path}.weight`)?.shape;
    if (s?.[0] === vocab && s[1] === width) members.push(...present(params, [m(`${mod.path}.weight`, 0), m(`${mod.path}.bias`, 0)]));
  }
  return { key: 'vocab', kind: 'vocab', module: '', units: vocab, members };
}

/** Every per-module group of a layout, keyed by group key. */
export function allModuleGroups(layout: ModelLayout): Map<string, AxisGroup> {
  const params = paramMap(layout);
  const out = new Map<string, AxisGroup>();
  for (const mod of layout.modules) for (const g of moduleGroups(layout, mod, params)) out.set(g.key, g);
  return out;
}

export { layerStack };
