// What inheritance and pruning know of each library layer, one entry per layer: the dependency
// groups inside it (heads, ffn, channels: axes.ts), its tensors on the residual stream (the `dim`
// group), its channel axes in a UNet's channel spaces (channels.ts), and whether it may be dropped
// as an identity (prune-unet.ts). Typed `Record<LayerName, …>`, so tsc names a library layer added
// without an entry; 'none' says on purpose that a layer has no axes: nothing inside it is sliced,
// it blocks width selection when it touches the residual stream, and the channel spaces it reads
// or makes stay fixed. User layers (not library names) are treated as 'none'.

import type { LayerName } from '../../../grammar/library/param-names.ts';
import { InheritError, type ModuleEntry, type ParamEntry } from './layout.ts';

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

type Params = ReadonlyMap<string, ParamEntry>;

/** One module as its group rule sees it; `group` keys a group by the module and drops absent tensors. */
export interface ModuleScope {
  readonly path: string;
  readonly mod: ModuleEntry;
  readonly params: Params;
  group(kind: GroupKind, units: number, members: AxisMember[], kv?: AxisGroup['kv']): AxisGroup;
}

/** One concat segment of a tensor argument: the producer whose channel space it lies in. */
export interface Segment {
  readonly node: string;
  readonly offset: number;
  readonly size: number;
}

/** One module as its channel rule sees it, while channels.ts builds the spaces (see there). */
export interface ChannelScope {
  readonly path: string;
  readonly mod: ModuleEntry;
  readonly params: Params;
  /** The layer's GroupNorm group count (its `groups`, default 32). */
  readonly groups: number;
  /** The segments of argument x; undefined when unknown (their producers are then fixed). */
  readonly xs: readonly Segment[] | undefined;
  /** Channels of x over all its segments. */
  readonly inTotal: number;
  shape(path: string): readonly number[] | undefined;
  /** The segments of another tensor argument (e.g. a ResBlock's temb). */
  segments(arg: string): readonly Segment[] | undefined;
  /** Puts `path`'s `axis` (from `offset`) into the space of producer `node`. */
  add(node: string, path: string, axis: number, offset?: number, normWidth?: number): void;
  /** Input columns (axis) of `path` at each x segment's offset; `norm`: with its GroupNorm widths. */
  consume(path: string, axis: number, norm?: boolean): void;
  /** Output and input are one space (identity residual, norm, attention). */
  through(): void;
  /** The channels this layer makes (a new space owned by it). */
  makes(channels: number): void;
  /** A producer whose space must stay as it is. */
  freeze(node: string): void;
  /** The GroupNorm group width on `seg` of a norm over `total` channels, when its groups align. */
  normWidth(total: number, groups: number, seg: Segment): number | undefined;
}

export interface InheritRule {
  /** Groups inside the module (heads, ffn, channels). */
  readonly groups?: (s: ModuleScope) => AxisGroup[];
  /** Its tensors on the residual stream of width `width` (the `dim` group). Absent: it blocks width selection. */
  readonly residual?: (p: string, width: number, params: Params) => AxisMember[];
  /** Its channel axes in a convolutional model's channel spaces. Absent: what it reads or makes stays fixed. */
  readonly channels?: (s: ChannelScope) => void;
  /** A layer that makes a model convolutional: one with a known input gives it channel spaces. */
  readonly convolutional?: true;
  /** Its `groups` argument is a GroupNorm group count that scales with a UNet's base width. */
  readonly normGroups?: true;
  /** Whether this call may be removed as an identity (`prune … blocks = drop([…])`). */
  readonly identity?: (p: string, params: Params) => boolean;
}

export const axisMember = (path: string, axis: number, unit = 1, offset = 0): AxisMember => ({ path, axis, offset, unit });
const m = axisMember;

/** The members whose parameter the module created (biases are optional). */
export function present(params: Params, members: AxisMember[]): AxisMember[] {
  return members.filter((x) => params.has(x.path));
}

export function shapeOf(params: Params, path: string): readonly number[] {
  const p = params.get(path);
  if (p === undefined) throw new InheritError([`the layout has no parameter '${path}'`]);
  return p.shape;
}

function intArg(mod: ModuleEntry, name: string): number | undefined {
  const v = mod.args[name];
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

const resBlock: InheritRule = {
  groups: ({ path: p, mod, params, group }) => {
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
  },
  channels: (s) => {
    const p = s.path;
    s.consume(`${p}.norm1.weight`, 0, true);
    s.consume(`${p}.norm1.bias`, 0, true);
    s.consume(`${p}.conv1.weight`, 1);
    for (const seg of s.segments('temb') ?? []) s.add(seg.node, `${p}.time_emb_proj.weight`, 1, seg.offset);
    if (s.params.has(`${p}.conv_shortcut.weight`)) {
      s.consume(`${p}.conv_shortcut.weight`, 1);
      for (const n of ['conv2.weight', 'conv2.bias', 'conv_shortcut.weight', 'conv_shortcut.bias']) s.add(p, `${p}.${n}`, 0);
      s.makes(s.shape(`${p}.conv2.weight`)?.[0] as number);
    } else {
      s.through();
      s.add(p, `${p}.conv2.weight`, 0);
      s.add(p, `${p}.conv2.bias`, 0);
    }
  },
  convolutional: true,
  normGroups: true,
  // In == out channels: no shortcut conv, so the block is x + f(x) and dropping it leaves x.
  identity: (p, params) => !params.has(`${p}.conv_shortcut.weight`),
};

export const INHERIT_RULES: Record<LayerName, InheritRule | 'none'> = {
  Embedding: { residual: (p) => [m(`${p}.weight`, 1)] },
  // A Linear reads the residual stream; its output side belongs to whatever it produces (vocab, classes).
  Linear: { residual: (p, width, params) => ((params.get(`${p}.weight`)?.shape[1] ?? -1) === width ? [m(`${p}.weight`, 1)] : []) },
  RMSNorm: { residual: (p) => [m(`${p}.weight`, 0)] },
  LayerNorm: { residual: (p) => [m(`${p}.weight`, 0), m(`${p}.bias`, 0)] },
  GroupNorm: {
    channels: (s) => {
      const w = s.xs?.length === 1 ? s.normWidth(s.inTotal, s.groups, s.xs[0] as Segment) : undefined;
      s.through();
      s.add(s.path, `${s.path}.weight`, 0, 0, w);
      s.add(s.path, `${s.path}.bias`, 0, 0, w);
    },
    normGroups: true,
  },
  Attention: {
    groups: ({ path: p, mod, params, group }) => {
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
    },
    residual: (p) => [...['q_proj', 'k_proj', 'v_proj'].map((n) => m(`${p}.${n}.weight`, 1)), m(`${p}.o_proj.weight`, 0), m(`${p}.o_proj.bias`, 0)],
  },
  LinearAttention: 'none',
  SwiGLU: {
    groups: ({ path: p, params, group }) => {
      const ffn = shapeOf(params, `${p}.gate_proj.weight`)[0] as number;
      return [group('ffn', ffn, [m(`${p}.gate_proj.weight`, 0), m(`${p}.up_proj.weight`, 0), m(`${p}.down_proj.weight`, 1)])];
    },
    residual: (p) => [m(`${p}.gate_proj.weight`, 1), m(`${p}.up_proj.weight`, 1), m(`${p}.down_proj.weight`, 0)],
  },
  MLP: {
    groups: ({ path: p, params, group }) => {
      const ffn = shapeOf(params, `${p}.fc1.weight`)[0] as number;
      return [group('ffn', ffn, [m(`${p}.fc1.weight`, 0), m(`${p}.fc1.bias`, 0), m(`${p}.fc2.weight`, 1)])];
    },
    residual: (p) => [m(`${p}.fc1.weight`, 1), m(`${p}.fc2.weight`, 0), m(`${p}.fc2.bias`, 0)],
  },
  Conv2d: {
    channels: (s) => {
      const p = s.path;
      const w = s.shape(`${p}.weight`);
      if (w === undefined) return;
      if (s.xs !== undefined && w[1] === s.inTotal) s.consume(`${p}.weight`, 1);
      else for (const seg of s.xs ?? []) s.freeze(seg.node); // grouped/depthwise conv: channels are tied 1:1
      s.add(p, `${p}.weight`, 0);
      s.add(p, `${p}.bias`, 0);
      s.makes(w[0] as number);
    },
    convolutional: true,
  },
  DepthwiseConv2d: 'none',
  CondConv2d: {
    channels: (s) => {
      const p = s.path;
      const w = s.shape(`${p}.weight`); // [E, O, C, k, k]
      if (w === undefined) return;
      s.consume(`${p}.weight`, 2);
      s.consume(`${p}.routing.weight`, 1);
      s.add(p, `${p}.weight`, 1);
      s.makes(w[1] as number);
    },
    convolutional: true,
  },
  ResBlock: resBlock,
  TimestepEmbedding: {
    groups: ({ path: p, params, group }) => {
      const c = shapeOf(params, `${p}.linear_1.weight`)[0] as number;
      return [group('channels', c, [m(`${p}.linear_1.weight`, 0), m(`${p}.linear_1.bias`, 0), m(`${p}.linear_2.weight`, 1)])];
    },
    channels: (s) => {
      s.add(s.path, `${s.path}.linear_2.weight`, 0);
      s.add(s.path, `${s.path}.linear_2.bias`, 0);
      s.makes(s.shape(`${s.path}.linear_2.weight`)?.[0] as number);
    },
  },
  LabelEmbedding: {
    channels: (s) => {
      s.add(s.path, `${s.path}.embedding_table.weight`, 1);
      s.makes(s.shape(`${s.path}.embedding_table.weight`)?.[1] as number);
    },
  },
  PatchEmbed: 'none',
  AttnBlock: {
    groups: ({ path: p, mod, params, group }) => {
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
    },
    channels: (s) => {
      const p = s.path;
      s.through();
      const w = s.xs?.length === 1 ? s.normWidth(s.inTotal, s.groups, s.xs[0] as Segment) : undefined;
      s.add(p, `${p}.group_norm.weight`, 0, 0, w);
      s.add(p, `${p}.group_norm.bias`, 0, 0, w);
      for (const n of ['to_q', 'to_k', 'to_v']) s.add(p, `${p}.${n}.weight`, 1);
      s.add(p, `${p}.to_out.weight`, 0);
      s.add(p, `${p}.to_out.bias`, 0);
    },
    convolutional: true,
  },
  DiTBlock: {
    groups: ({ path: p, mod, params, group }) => {
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
    },
  },
  DiTFinal: 'none',
  LoRA: 'none',
};

/** The rule of a module's layer kind; undefined for 'none' and for user layers. */
export function inheritRule(kind: string): InheritRule | undefined {
  const rule = Object.hasOwn(INHERIT_RULES, kind) ? INHERIT_RULES[kind as LayerName] : 'none';
  return rule === 'none' ? undefined : rule;
}
