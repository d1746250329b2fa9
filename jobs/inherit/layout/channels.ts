// UNet channel spaces: the feature-map channel axes that must be selected together across a
// convolutional model. A space is born where a layer makes new channels (a conv, a ResBlock with a
// shortcut conv, CondConv, the time/label embeddings) and flows unchanged through identity
// residuals (a ResBlock whose in == out), GroupNorm, AttnBlock, upsampling and activations. Its
// members are the producer's output rows and every consumer's input columns — after a concat, at
// the segment's offset, so a channel of a skip tensor maps to a slice of the consuming conv.
//
// GroupNorm keeps whole groups: a space's unit is the channels of one group (the lcm over every
// norm that sees it with aligned groups), so a child that keeps units keeps whole groups and
// the norms of the kept groups compute what they did in the parent. A norm whose groups straddle
// concat segments cannot keep whole groups of each; its channels are still selected consistently,
// but such a norm's statistics change (the child then approximates the parent there).
//
// Each layer's part is the `channels` rule of its entry in INHERIT_RULES (layer-rules.ts). Spaces
// touching model inputs or outputs, or consumed by a layer kind without a channel rule, are fixed
// (not returned), so a UNet's image channels never change.

import { InheritError, paramMap, type ModelLayout, type ModuleEntry, type ParamEntry } from './layout.ts';
import { inheritRule, type AxisGroup, type AxisMember, type ChannelScope, type Segment } from './layer-rules.ts';

/** A member before its space is known: the producer node (layer path) whose space it lies in. */
interface Pending {
  readonly node: string;
  readonly member: AxisMember;
  /** GroupNorm group width on this member's axis, when the norm's groups align with the segment. */
  readonly normWidth?: number;
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    const p = this.parent.get(x);
    if (p === undefined || p === x) return x;
    const r = this.find(p);
    this.parent.set(x, r);
    return r;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/** Channel spaces of a convolutional model, keyed `${owner}:out` (owner: the first layer of the space). */
export function channelSpaces(layout: ModelLayout): AxisGroup[] {
  if (!layout.modules.some((m) => inheritRule(m.kind)?.convolutional === true && m.from !== undefined)) return [];
  const params = paramMap(layout);
  const uf = new UnionFind();
  const pending: Pending[] = [];
  const frozen = new Set<string>();
  const size = new Map<string, number>(); // producer → its output channels
  const shape = (path: string): readonly number[] | undefined => params.get(path)?.shape;
  const add = (node: string, path: string, axis: number, offset = 0, normWidth?: number) => {
    if (!params.has(path)) return;
    const member: AxisMember = { path, axis, offset, unit: 1 };
    pending.push(normWidth === undefined ? { node, member } : { node, member, normWidth });
  };
  /** The input segments of `arg`, with offsets; undefined (and its producers frozen) when unknown. */
  const segments = (mod: ModuleEntry, arg: string): Segment[] | undefined => {
    const segs = mod.from?.[arg];
    if (segs === undefined) return undefined;
    const out: Segment[] = [];
    let offset = 0;
    for (const seg of segs) {
      for (const p of seg.slice(1)) uf.union(seg[0] as string, p); // added together: one space
      const node = seg[0] as string;
      const n = seg.map((p) => size.get(p)).find((v) => v !== undefined);
      if (n === undefined || node.startsWith('$')) {
        for (const s of segs) for (const p of s) frozen.add(p);
        return undefined;
      }
      out.push({ node, offset, size: n });
      offset += n;
    }
    return out;
  };
  const normWidthOf = (total: number, groups: number, seg: Segment): number | undefined => {
    if (total % groups !== 0) return undefined;
    const w = total / groups;
    return seg.offset % w === 0 && seg.size % w === 0 ? w : undefined;
  };

  for (const mod of layout.modules) {
    const p = mod.path;
    const groups = typeof mod.args['groups'] === 'number' ? mod.args['groups'] : 32;
    const xs = segments(mod, 'x');
    const inTotal = xs?.reduce((a, s) => a + s.size, 0) ?? 0;
    const scope: ChannelScope = {
      path: p,
      mod,
      params,
      groups,
      xs,
      inTotal,
      shape,
      segments: (arg) => segments(mod, arg),
      add,
      consume: (path, axis, norm = false) => {
        for (const s of xs ?? []) add(s.node, path, axis, s.offset, norm ? normWidthOf(inTotal, groups, s) : undefined);
      },
      through: () => {
        if (xs?.length !== 1) frozen.add(p);
        else uf.union(xs[0]!.node, p);
        size.set(p, inTotal);
      },
      makes: (channels) => size.set(p, channels),
      freeze: (node) => frozen.add(node),
      normWidth: normWidthOf,
    };
    const rule = inheritRule(mod.kind)?.channels;
    if (rule !== undefined) rule(scope);
    else {
      // A layer without a rule: whatever it reads or makes stays as it is.
      for (const segs of Object.values(mod.from ?? {})) for (const seg of segs) for (const q of seg) frozen.add(q);
      frozen.add(p);
    }
  }
  for (const seg of layout.outputs ?? []) for (const q of seg) frozen.add(q);
  const frozenRoots = new Set([...frozen].map((f) => uf.find(f)));

  // Group the members by space; the owner is the space's first layer in model order.
  const order = new Map(layout.modules.map((m, i) => [m.path, i]));
  const bySpace = new Map<string, Pending[]>();
  for (const x of pending) {
    const r = uf.find(x.node);
    if (frozenRoots.has(r)) continue;
    bySpace.set(r, [...(bySpace.get(r) ?? []), x]);
  }
  const out: AxisGroup[] = [];
  for (const members of bySpace.values()) {
    const nodes = [...new Set(members.map((x) => x.node))];
    const owner = nodes.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))[0] as string;
    const n = size.get(owner);
    if (n === undefined) throw new Error(`bug: channel space of ${owner} has no size`);
    const unit = members.reduce((u, x) => (x.normWidth === undefined ? u : lcm(u, x.normWidth)), 1);
    if (n % unit !== 0) throw new InheritError([`${owner}: ${n} channels do not split into its GroupNorm groups of ${unit}`]);
    out.push({ key: `${owner}:out`, kind: 'channels', module: owner, units: n / unit, members: members.map((x) => ({ ...x.member, unit })) });
  }
  return out;
}

/** Whether the layer at `path` may be removed as an identity (a ResBlock whose in == out channels). */
export function identityResBlock(layout: ModelLayout, path: string, params: ReadonlyMap<string, ParamEntry> = paramMap(layout)): boolean {
  const mod = layout.modules.find((m) => m.path === path);
  return mod !== undefined && (inheritRule(mod.kind)?.identity?.(path, params) ?? false);
}
