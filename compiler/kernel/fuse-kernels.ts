// Fusion: partitions the graph IR into kernels. Walks nodes from last to first; a node joins the
// kernel of its consumers when they all sit in one kernel and inlining it there recomputes
// nothing expensive, otherwise it roots a kernel of its own (its value is materialized).
//
// What this fuses, with no per-pattern code: elementwise chains and broadcasts into one kernel;
// a reduction with its elementwise prologue and epilogue (softmax, RMSNorm, LayerNorm, GroupNorm
// forward and backward are each one kernel: reductions are memoized per row, see
// codegen/wgsl/render-node.ts); a matmul with its operands' views (transposes) and its epilogue
// (bias, activation, residual, scale). Views of params and free sources (iota, full, small
// constants, the rope and mask tables built from them) are recomputed in every kernel that
// uses them rather than materialized.

import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';
import { OP_TRAITS } from '../ir/op-traits.ts';
import { classOf, operandReads } from './op-classes.ts';
import { formatSource, KERNEL_GRAPH_VERSION, type BufferInfo, type KernelGraph, type KernelInfo } from './kernel-graph.ts';

export interface FuseContext {
  /** Outputs that replace inputs/params for the next step (training state). */
  carry?: readonly { output: string; input: string }[];
  /** Max recomputation of an elementwise op inlined into a broadcasting or contracting consumer. */
  maxRecompute?: number;
  /** Nodes that root a kernel of their own whatever their consumers (split-reductions.ts' first passes). */
  materialize?: ReadonlySet<number>;
  /**
   * Longest row a row kernel walks (a reduction broadcast back along its row, memoized per row);
   * a longer one materializes the reduction and its consumers get a thread per element. Default:
   * unlimited (one thread per row, whatever its length).
   */
  maxRowCols?: number;
  /**
   * Most contraction steps per row (K × row length) of a short contraction inlined into a row
   * kernel; beyond it the contraction is materialized (and rendered register-blocked). Default:
   * unlimited. Attention's q·kᵀ inside a training step's softmax runs keys × head_dim steps per
   * row thread, two or three times over.
   */
  maxRowContraction?: number;
  /**
   * Most loop steps per thread of a loop node inlined under other loops (its trips times those
   * of the loops around it in the kernel); beyond it the node is materialized. Default:
   * unlimited. A loss's per-sample sums inlined into its batch mean run batch × sample steps on
   * one thread.
   */
  maxNestedSteps?: number;
  /**
   * An output read only at its own index by one kernel's root (elementwise, same size) is stored
   * by that kernel too instead of rooting its own: AdamW's new m and v beside the new parameter,
   * so the whole update is one level of independent segments (one dispatch: merge-independent.ts).
   */
  storeOutputs?: boolean;
}

interface Group {
  root: number;
  members: Set<number>;
  /** How often each member's elements are evaluated per element (1 = no recomputation). */
  mult: Map<number, number>;
  /** Members read at exactly the root's index (aligned): candidates for in-place and memo rows. */
  aligned: Set<number>;
  /** Members evaluated only at indices inside the current row (root row, or a row reduction's row). */
  rowLocal: Set<number>;
  cols: number;
  /** Per member: evaluations per element of the root from the loops around it (1 outside any loop). */
  nest: Map<number, number>;
  /** Outputs stored by this kernel beside its root (`storeOutputs`). */
  also: number[];
}

/**
 * Nodes recomputed wherever used instead of materialized: free sources; arithmetic on free
 * nodes only (rope and mask tables: functions of the index); views of buffers and of those.
 * 1 = a view of buffers (cheap loads), 2 = free of buffers (pure index math).
 */
export function duplicableNodes(g: Graph): Uint8Array {
  const dup = new Uint8Array(g.nodes.length);
  for (const n of g.nodes) {
    const c = classOf(n);
    const ins = n.inputs.map((j) => (classOf(g.nodes[j] as Node) === 'buffer' ? 1 : (dup[j] as number)));
    if (c === 'free') dup[n.id] = 2;
    else if (c === 'map' && OP_TRAITS[n.op].index !== 'keyed' && ins.every((d) => d === 2)) dup[n.id] = 2;
    else if (c === 'view' && OP_TRAITS[n.op].index !== 'data' && ins.every((d) => d > 0)) dup[n.id] = Math.min(...ins);
  }
  return dup;
}

function liveNodes(g: Graph): Uint8Array {
  const live = new Uint8Array(g.nodes.length);
  for (const o of g.outputs) live[o.node] = 1;
  for (let i = g.nodes.length - 1; i >= 0; i--) if (live[i]) for (const j of (g.nodes[i] as Node).inputs) live[j] = 1;
  return live;
}

/** Whether consumer `c` reads operand k at its own index (same shape, index-preserving op). */
function readsAligned(g: Graph, c: Node, k: number): boolean {
  const x = g.nodes[c.inputs[k] as number] as Node;
  const index = OP_TRAITS[c.op].index;
  if (index === 'flat') return true;
  if (index !== 'aligned') return false;
  return x.shape.length === c.shape.length && x.shape.every((d, i) => d === c.shape[i]);
}

/**
 * A reduction broadcast back along trailing axes (softmax's x − max): with a thread walking
 * those trailing elements in order, the memoized reduction is computed once per row. Returns the
 * row length, or 0 when the pattern does not apply.
 */
function trailingBroadcast(c: Node, r: Node): number {
  const rank = c.shape.length;
  if (r.shape.length > rank || !(classOf(c) === 'map' || OP_TRAITS[c.op].index === 'broadcast')) return 0;
  const rs = [...Array(rank - r.shape.length).fill(1), ...r.shape] as number[];
  let k = rank;
  while (k > 0 && rs[k - 1] === 1) k--;
  for (let i = 0; i < k; i++) if (rs[i] !== c.shape[i]) return 0;
  const cols = numel(c.shape.slice(k));
  return cols > 1 ? cols : 0;
}

/**
 * The row limits compiled graphs use (compiler/pipeline.ts), for devices that run thousands of
 * threads at once: rows as long as a split reduction (split-reductions.ts SPLIT_MIN) get a thread
 * per element, a short contraction stays inside a row kernel while K × row length ≤ 2048, and a
 * loop inside other loops of its kernel while all of them together take ≤ 4096 steps.
 */
export const ROW_LIMITS = { maxRowCols: 1024, maxRowContraction: 2048, maxNestedSteps: 4096 } as const;

/** Contraction length above which a matmul is not inlined into a row kernel or a reduction. */
const LONG_CONTRACTION = 64;

/**
 * Long matmuls and convolutions join a kernel only as the producer of an elementwise epilogue. Inlined
 * into a row kernel (a norm or softmax: one thread per row, reductions memoized per row) or into a
 * reduction, their dot products run serially per row and again for every read of the row — in the
 * small GPT's training step one such LayerNorm kernel took ~20% of GPU time. Materialized, they
 * render register-blocked (codegen/wgsl/render-matmul.ts).
 */
function isLongContraction(g: Graph, n: Node): boolean {
  if (OP_TRAITS[n.op].index !== 'contract') return false;
  if (n.op !== 'matmul') return true;
  // Short ones stay inlined: attention's q·kᵀ (head_dim long) is what fuse-attention.ts matches
  // inside the softmax kernel, and costs a row thread only keys × head_dim.
  const a = g.nodes[n.inputs[0] as number] as Node;
  return (a.shape[a.shape.length - 1] ?? 0) > LONG_CONTRACTION;
}

/**
 * Whether output `node` can be stored by `group` beside its root: elementwise, as large as the
 * root, in a kernel of one column per thread, and read by its consumers (all in the group) only
 * at the root's own index — so each thread computes it for its own element.
 */
function storedBeside(g: Graph, node: Node, consumers: readonly number[], group: Group): boolean {
  const root = g.nodes[group.root] as Node;
  if (classOf(node) !== 'map' || OP_TRAITS[node.op].index === 'keyed' || group.cols > 0 || classOf(root) === 'host') return false;
  if (numel(node.shape) !== numel(root.shape) || consumers.length === 0) return false;
  return consumers.every((c) => {
    const cn = g.nodes[c] as Node;
    return group.aligned.has(c) && cn.inputs.every((j, k) => j !== node.id || readsAligned(g, cn, k));
  });
}

/** Loop trips of one element of `n` (OP_TRAITS). */
function tripsOf(g: Graph, n: Node): number {
  return OP_TRAITS[n.op].trips(
    n,
    n.inputs.map((j) => g.nodes[j] as Node),
  );
}

function hasLoop(g: Graph, group: Group): boolean {
  for (const m of group.members) if (classOf(g.nodes[m] as Node) === 'loop') return true;
  return false;
}

/** A reduction over trailing axes covering exactly one row of `cols` elements of its input. */
function reducesTrailing(c: Node, x: Node, cols: number): boolean {
  if (OP_TRAITS[c.op].index !== 'row') return false;
  const axes = c.attrs['axes'] as readonly number[];
  const r = x.shape.length;
  const trailing = axes.every((a, k) => a === r - axes.length + k);
  return trailing && (cols === 0 || numel(axes.map((a) => x.shape[a] as number)) === cols);
}

export function fuseKernels(g: Graph, ctx: FuseContext = {}): KernelGraph {
  const maxRecompute = ctx.maxRecompute ?? 2;
  const n = g.nodes.length;
  const live = liveNodes(g);
  const dup = duplicableNodes(g);
  const consumers: number[][] = Array.from({ length: n }, () => []);
  for (const node of g.nodes) if (live[node.id]) for (const j of new Set(node.inputs)) consumers[j]?.push(node.id);
  const isOutput = new Uint8Array(n);
  for (const o of g.outputs) isOutput[o.node] = 1;

  const owner = new Int32Array(n).fill(-1);
  const groups: Group[] = [];
  const newGroup = (id: number): void => {
    owner[id] = groups.length;
    groups.push({
      root: id,
      members: new Set([id]),
      mult: new Map([[id, 1]]),
      aligned: new Set([id]),
      rowLocal: new Set([id]),
      cols: 0,
      nest: new Map([[id, 1]]),
      also: [],
    });
  };

  for (let i = n - 1; i >= 0; i--) {
    const node = g.nodes[i] as Node;
    const cls = classOf(node);
    if (!live[i] || cls === 'buffer') continue;
    if (cls === 'host' || ctx.materialize?.has(i) === true) {
      newGroup(i);
      continue;
    }
    const cs = consumers[i] as number[];
    const hostConsumer = cs.some((c) => classOf(g.nodes[c] as Node) === 'host');
    if (dup[i] !== 0 && !isOutput[i] && !hostConsumer) continue; // recomputed in each consumer
    const owners = new Set(cs.map((c) => owner[c] as number));
    const only = owners.size === 1 ? (owners.values().next().value as number) : -1;
    const group = only >= 0 ? groups[only] : undefined;
    if (isOutput[i] && ctx.storeOutputs === true && group !== undefined && storedBeside(g, node, cs, group)) {
      owner[i] = only;
      group.members.add(i);
      group.mult.set(i, 1);
      group.nest.set(i, 1);
      group.aligned.add(i);
      group.rowLocal.add(i);
      group.also.push(i);
      continue;
    }
    if (isOutput[i] || hostConsumer || group === undefined || classOf(g.nodes[group.root] as Node) === 'host' || cs.some((c) => owner[c] === -1)) {
      newGroup(i);
      continue;
    }
    // Evaluations per element if inlined: over consumers, their own multiplicity × reads.
    let mult = 0;
    let aligned = true;
    let rowLocal = true;
    let cols = 0;
    let nest = 1;
    for (const c of cs) {
      const cn = g.nodes[c] as Node;
      cn.inputs.forEach((j, k) => {
        if (j !== i) return;
        let f = operandReads(g, cn, k) / Math.max(1, numel(node.shape));
        const tbRaw = group.rowLocal.has(c) ? trailingBroadcast(cn, node) : 0;
        const tb = tbRaw > (ctx.maxRowCols ?? Number.POSITIVE_INFINITY) ? 0 : tbRaw;
        // A row's value broadcast back along the row is computed once per row (memoized), whatever
        // loops its readers sit in; otherwise once per evaluation of its reader, in the reader's loop.
        let around = (group.nest.get(c) ?? 1) * (classOf(cn) === 'loop' ? tripsOf(g, cn) : 1);
        if (tb > 0 && (group.cols === 0 || group.cols === tb) && (cols === 0 || cols === tb)) {
          f = 1;
          cols = tb;
          around = 1;
        }
        nest = Math.max(nest, around);
        mult = Math.max(mult, (group.mult.get(c) ?? 1) * f);
        if (!(group.aligned.has(c) && readsAligned(g, cn, k))) aligned = false;
        if (!(group.rowLocal.has(c) && (readsAligned(g, cn, k) || reducesTrailing(cn, node, group.cols) || (tb > 0 && tb === (cols || group.cols)))))
          rowLocal = false;
      });
    }
    const admit = cls === 'loop' ? mult <= 1.0001 : cls === 'view' || mult <= maxRecompute;
    const nested = cls === 'loop' && nest > 1 && nest * tripsOf(g, node) > (ctx.maxNestedSteps ?? Number.POSITIVE_INFINITY);
    const inRow = cols > 0 || group.cols > 0;
    const rowSteps = OP_TRAITS[node.op].index === 'contract' && inRow ? tripsOf(g, node) * Math.max(cols, group.cols) : 0;
    if (
      !admit ||
      (isLongContraction(g, node) && (inRow || hasLoop(g, group))) ||
      rowSteps > (ctx.maxRowContraction ?? Number.POSITIVE_INFINITY) ||
      nested ||
      // a kernel storing several outputs renders per element (render-kernel.ts): a contraction
      // (a weight gradient feeding the optimizer) keeps a kernel of its own, register-blocked
      (OP_TRAITS[node.op].index === 'contract' && group.also.length > 0)
    ) {
      newGroup(i);
      continue;
    }
    owner[i] = only;
    group.members.add(i);
    group.mult.set(i, mult);
    group.nest.set(i, nest);
    if (aligned) group.aligned.add(i);
    if (rowLocal) group.rowLocal.add(i);
    if (cols > 0) group.cols = cols;
  }

  return buildKernelGraph(g, groups, owner, dup, live, ctx);
}

function buildKernelGraph(g: Graph, groups: Group[], owner: Int32Array, dup: Uint8Array, live: Uint8Array, ctx: FuseContext): KernelGraph {
  const buffers: BufferInfo[] = [];
  const bufferOf = new Map<number, number>();
  const addBuffer = (node: Node): number => {
    const have = bufferOf.get(node.id);
    if (have !== undefined) return have;
    const cls = classOf(node);
    const role = node.op === 'input' ? 'input' : node.op === 'param' ? 'param' : cls === 'buffer' ? 'constant' : 'intermediate';
    const info: BufferInfo = { id: buffers.length, node: node.id, role, dtype: node.dtype, shape: node.shape, count: numel(node.shape) };
    if (role === 'input' || role === 'param') info.name = node.attrs['name'] as string;
    if (role === 'constant') info.data = node.attrs['data'] as readonly number[];
    buffers.push(info);
    bufferOf.set(node.id, info.id);
    return info.id;
  };
  // Sources first, in node order, so buffer ids are stable.
  for (const node of g.nodes) if (live[node.id] && classOf(node) === 'buffer') addBuffer(node);

  const ordered = [...groups].sort((a, b) => a.root - b.root);
  const rootSet = new Set(groups.map((x) => x.root));
  const kernels: KernelInfo[] = ordered.map((grp, k) => {
    const rootNode = g.nodes[grp.root] as Node;
    const output = addBuffer(rootNode);
    const inputs = new Set<number>();
    const readCounts = new Map<number, { aligned: boolean }>();
    // Walk what the kernel computes: members and recomputed duplicable nodes; stop at buffers.
    const seen = new Set<number>();
    const computed = new Set<number>(grp.members);
    const walk = (id: number, alignedPos: boolean): void => {
      const node = g.nodes[id] as Node;
      const inKernel =
        id === grp.root || (owner[id] === owner[grp.root] && grp.members.has(id)) || (dup[id] !== 0 && !rootSet.has(id) && classOf(node) !== 'buffer');
      if (!inKernel) {
        const b = addBuffer(node);
        inputs.add(b);
        const prev = readCounts.get(b);
        readCounts.set(b, { aligned: (prev?.aligned ?? true) && alignedPos });
        return;
      }
      const key = id * 2 + (alignedPos ? 1 : 0);
      if (seen.has(key)) return;
      seen.add(key);
      if (classOf(node) !== 'free') computed.add(id);
      node.inputs.forEach((j, i) => walk(j, alignedPos && readsAligned(g, node, i)));
    };
    const host = classOf(rootNode) === 'host';
    if (host) for (const j of rootNode.inputs) inputs.add(addBuffer(g.nodes[j] as Node));
    else walk(grp.root, true);
    // Stored beside the root: every thread computes all its values before it stores any, so each
    // output may take the place of an input read only at the same index.
    const also = grp.also.map((id) => ({ node: id, output: addBuffer(g.nodes[id] as Node) })).sort((a, b) => a.node - b.node);
    const inplace = [...readCounts]
      .filter(([b, r]) => r.aligned && (buffers[b] as BufferInfo).count === numel(rootNode.shape) && (buffers[b] as BufferInfo).role !== 'constant')
      .flatMap(([b]) => [output, ...also.map((x) => x.output)].map((o) => ({ output: o, input: b })));
    const members = [...computed].sort((a, b) => a - b);
    const rows = grp.cols > 1 ? numel(rootNode.shape) / grp.cols : numel(rootNode.shape);
    const info: KernelInfo = {
      id: k,
      name: kernelName(g, members),
      kind: classOf(rootNode) === 'host' ? 'host' : 'wgsl',
      nodes: members,
      segments: [{ root: grp.root, output, rows, cols: grp.cols > 1 ? grp.cols : 1, ...(also.length > 0 ? { also } : {}) }],
      // Host kernels read their operands in operand order.
      inputs: host ? rootNode.inputs.map((j) => bufferOf.get(j) as number) : [...inputs].sort((a, b) => a - b),
      outputs: [output, ...also.map((x) => x.output)],
      inplace,
    };
    const src = formatSource(rootNode.span);
    if (src !== undefined) info.source = src;
    if (info.kind === 'host') {
      const ins = rootNode.inputs.map((j) => g.nodes[j] as Node);
      info.host = {
        op: rootNode.op,
        attrs: rootNode.attrs,
        inShapes: ins.map((x) => x.shape),
        inDTypes: ins.map((x) => x.dtype),
        outShape: rootNode.shape,
        outDType: rootNode.dtype,
      };
    }
    return info;
  });

  const ioOf = (op: 'input' | 'param') => buffers.filter((b) => b.role === op).map((b) => ({ name: b.name as string, buffer: b.id }));
  const outputs = g.outputs.map((o) => ({ name: o.name, buffer: addBuffer(g.nodes[o.node] as Node) }));
  const primitiveOps = g.nodes.filter((x) => live[x.id] && classOf(x) !== 'buffer' && classOf(x) !== 'free').length;
  return {
    version: KERNEL_GRAPH_VERSION,
    buffers,
    kernels,
    inputs: ioOf('input'),
    params: ioOf('param'),
    outputs,
    carry: [...(ctx.carry ?? [])],
    primitiveOps,
  };
}

function kernelName(g: Graph, members: readonly number[]): string {
  const ops: string[] = [];
  for (const id of members) {
    const op = (g.nodes[id] as Node).op;
    if (ops[ops.length - 1] !== op) ops.push(op);
  }
  const name = ops.join('+');
  return name.length > 80 ? `${name.slice(0, 77)}...` : name;
}
