// Dependency groups ("axes"): the sets of tensor axes that must be sliced with the same indices,
// declared once per layer kind. A group has `units` selectable units; each member says where they
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

export interface AxisMember {
  readonly path: string;
  readonly axis: number;
  /** First element of the group's span on the axis (fused tensors put several spans on one axis). */
  readonly offset: number;
  /** Elements per unit (head width, channels per norm group; 1 for neurons and channels). */
  readonly unit: number;
}

export type GroupKind = 'dim' | 'heads' | 'ffn' | 'channels' | 'vocab';

export interface AxisGroup {
  /** 'dim', 'vocab', or `${module}:${kind}` (e.g. 'layers.3.self_attn:heads'). */
  readonly key: string;
  readonly kind: GroupKind;
  /** The module the group belongs to ('' for model-wide groups). */
  readonly module: string;
  readonly units: number;
  readonly members: readonly AxisMember[];
  /** Heads only: the KV heads the query heads share (GQA); kvOf[h] = h / (heads / kvHeads). */
  readonly kv?: { readonly units: number; readonly members: readonly AxisMember[] };
}

const m = (path: string, axis: number, unit = 1, offset = 0): AxisMember => ({ path, axis, offset, unit });

/** Adds `rest` when the module created that parameter (biases are optional). */
function present(params: ReadonlyMap<string, ParamEntry>, members: AxisMember[]): AxisMember[] {
  return members.filter((x) => params.has(x.path));
}

function shapeOf(params: ReadonlyMap<string, ParamEntry>, path: string): readonly number[] {
  const p = params.get(path);
  if (p === undefined) throw new InheritError([`the layout has no parameter '${path}'`]);
  return p.shape;
}

function intArg(mod: ModuleEntry, name: string): number | undefined {
  const v = mod.args[name];
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** Groups inside one module (heads, ffn, channels), by layer kind. */
export function moduleGroups(layout: ModelLayout, mod: ModuleEntry, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): AxisGroup[] {
  const p = mod.path;
  const group = (kind: GroupKind, units: number, members: AxisMember[], kv?: AxisGroup['kv']): AxisGroup =>
    kv === undefined
      ? { key: `${p}:${kind}`, kind, module: p, units, members: present(params, members) }
      : { key: `${p}:${kind}`, kind, module: p, units, members: present(params, members), kv };
  switch (mod.kind) {
    case 'Attention': {
      const heads = intArg(mod, 'heads');
      if (heads === undefined) throw new InheritError([`${p}: the Attention call has no constant 'heads'`]);
      const kvHeads = intArg(mod, 'kv_heads') ?? heads;
      const qRows = shapeOf(params, `${p}.q_proj.weight`)[0] as number;
      const hd = qRows / heads;
      return [
        group('heads', heads, [m(`${p}.q_proj.weight`, 0, hd), m(`${p}.q_proj.bias`, 0, hd), m(`${p}.o_proj.weight`, 1, hd)], {
          units: kvHeads,
          members: present(
            params,
            ['k_proj', 'v_proj'].flatMap((n) => [m(`${p}.${n}.weight`, 0, hd), m(`${p}.${n}.bias`, 0, hd)]),
          ),
        }),
      ];
    }
    case 'DiTBlock': {
      // Fused qkv [3·dim, dim]: q, k and v spans at offsets 0, dim, 2·dim; no GQA.
      const heads = intArg(mod, 'heads');
      const ffn = shapeOf(params, `${p}.mlp.fc1.weight`)[0] as number;
      const out: AxisGroup[] = [group('ffn', ffn, [m(`${p}.mlp.fc1.weight`, 0), m(`${p}.mlp.fc1.bias`, 0), m(`${p}.mlp.fc2.weight`, 1)])];
      if (heads !== undefined && params.has(`${p}.attn.qkv.weight`) && !params.has(`${p}.attn.dwc.weight`)) {
        const dim = shapeOf(params, `${p}.attn.qkv.weight`)[1] as number;
        const hd = dim / heads;
        const spans = [0, dim, 2 * dim].flatMap((o) => [m(`${p}.attn.qkv.weight`, 0, hd, o), m(`${p}.attn.qkv.bias`, 0, hd, o)]);
        out.push(group('heads', heads, [...spans, m(`${p}.attn.proj.weight`, 1, hd)]));
      }
      return out;
    }
    case 'SwiGLU': {
      const ffn = shapeOf(params, `${p}.gate_proj.weight`)[0] as number;
      return [group('ffn', ffn, [m(`${p}.gate_proj.weight`, 0), m(`${p}.up_proj.weight`, 0), m(`${p}.down_proj.weight`, 1)])];
    }
    case 'MLP': {
      const ffn = shapeOf(params, `${p}.fc1.weight`)[0] as number;
      return [group('ffn', ffn, [m(`${p}.fc1.weight`, 0), m(`${p}.fc1.bias`, 0), m(`${p}.fc2.weight`, 1)])];
    }
    case 'ResBlock': {
      // Inner channels by whole GroupNorm groups, so norm2's groups stay intact.
      const groups = intArg(mod, 'groups') ?? 32;
      const c = shapeOf(params, `${p}.conv1.weight`)[0] as number;
      if (c % groups !== 0) throw new InheritError([`${p}: ${c} channels do not split into ${groups} groups`]);
      const u = c / groups;
      return [
        group('channels', groups, [
          m(`${p}.conv1.weight`, 0, u),
          m(`${p}.conv1.bias`, 0, u),
          m(`${p}.time_emb_proj.weight`, 0, u),
          m(`${p}.time_emb_proj.bias`, 0, u),
          m(`${p}.norm2.weight`, 0, u),
          m(`${p}.norm2.bias`, 0, u),
          m(`${p}.conv2.weight`, 1, u),
        ]),
      ];
    }
    case 'AttnBlock': {
      // The q/k/v width inside each head: the same dims of every head, so heads stay aligned.
      const heads = intArg(mod, 'heads') ?? 1;
      const c = shapeOf(params, `${p}.to_q.weight`)[0] as number;
      if (c % heads !== 0) throw new InheritError([`${p}: ${c} channels do not split into ${heads} heads`]);
      const hd = c / heads;
      const spans = Array.from({ length: heads }, (_, h) => [
        ...['to_q', 'to_k', 'to_v'].flatMap((n) => [m(`${p}.${n}.weight`, 0, 1, h * hd), m(`${p}.${n}.bias`, 0, 1, h * hd)]),
        m(`${p}.to_out.weight`, 1, 1, h * hd),
      ]).flat();
      return [group('channels', hd, spans)];
    }
    case 'TimestepEmbedding': {
      const c = shapeOf(params, `${p}.linear_1.weight`)[0] as number;
      return [group('channels', c, [m(`${p}.linear_1.weight`, 0), m(`${p}.linear_1.bias`, 0), m(`${p}.linear_2.weight`, 1)])];
    }
    default:
      return [];
  }
}

/** Kinds whose every residual-touching tensor the `dim` group knows; others block width selection. */
const RESIDUAL_RULES: Record<string, (p: string, width: number, params: ReadonlyMap<string, ParamEntry>) => AxisMember[]> = {
  Embedding: (p) => [m(`${p}.weight`, 1)],
  RMSNorm: (p) => [m(`${p}.weight`, 0)],
  LayerNorm: (p) => [m(`${p}.weight`, 0), m(`${p}.bias`, 0)],
  Attention: (p) => [...['q_proj', 'k_proj', 'v_proj'].map((n) => m(`${p}.${n}.weight`, 1)), m(`${p}.o_proj.weight`, 0), m(`${p}.o_proj.bias`, 0)],
  SwiGLU: (p) => [m(`${p}.gate_proj.weight`, 1), m(`${p}.up_proj.weight`, 1), m(`${p}.down_proj.weight`, 0)],
  MLP: (p) => [m(`${p}.fc1.weight`, 1), m(`${p}.fc2.weight`, 0), m(`${p}.fc2.bias`, 0)],
  // A Linear reads the residual stream; its output side belongs to whatever it produces (vocab, classes).
  Linear: (p, width, params) => ((params.get(`${p}.weight`)?.shape[1] ?? -1) === width ? [m(`${p}.weight`, 1)] : []),
};

/** The residual-width group; throws when a module on the stream has no rule (it could not be sliced). */
export function residualGroup(layout: ModelLayout, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): AxisGroup {
  const width = residualWidth(layout);
  if (width === undefined) throw new InheritError(['width selection needs a token Embedding or a norm to know the residual width']);
  const members: AxisMember[] = [];
  const unknown: string[] = [];
  for (const mod of layout.modules) {
    const rule = RESIDUAL_RULES[mod.kind];
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
