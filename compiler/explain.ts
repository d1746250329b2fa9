// `scion explain`: what a model is made of, from its lowered graph — every layer's parameter
// paths and shapes, parameter count, FLOPs and activation memory, with totals and the share of
// parameters in embeddings and the tied-size output head (PanGu-π Pro's PEHL).
//
// Example: explainModel(decls, 'TinyLlama', { dims: { batch: 16 } }).params // 156480

import type { Program } from '../grammar/ast.ts';
import type { Preset } from '../grammar/ast.ts';
import { lowerModel, type LowerOptions } from './lower/lower-model.ts';

export interface LayerReport {
  path: string;
  callee: string;
  /** Output shape. */
  shape: readonly number[];
  params: number;
  flops: number;
  activationBytes: number;
  /** `path [shape] init` of each parameter the layer creates. */
  tensors: { path: string; shape: readonly number[]; init: string }[];
}

export interface ModelReport {
  name: string;
  preset: Preset | null;
  params: number;
  trainableParams: number;
  flops: number;
  activationBytes: number;
  /** Parameters of embedding tables and of output heads as wide as a table (vocab-sized). */
  embeddingParams: number;
  inputs: { name: string; dtype: string; shape: readonly number[] }[];
  outputs: { name: string; shape: readonly number[] }[];
  layers: LayerReport[];
}

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

export function explainModel(programs: Program | readonly Program[], name: string, opts: LowerOptions = {}): ModelReport {
  const m = lowerModel(programs, name, opts);
  // Each layer's tensors by one pass over the parameters (a filter per layer was quadratic in depth).
  const tensorsOf = new Map<string, LayerReport['tensors']>();
  for (const p of m.params) {
    let list = tensorsOf.get(p.layer);
    if (list === undefined) tensorsOf.set(p.layer, (list = []));
    list.push({ path: p.path, shape: p.shape, init: p.init.rule });
  }
  const layers: LayerReport[] = m.layers.map((l) => ({
    path: l.path,
    callee: l.callee,
    shape: l.shape,
    params: l.params,
    flops: l.flops,
    activationBytes: l.activationBytes,
    tensors: tensorsOf.get(l.path) ?? [],
  }));
  // Embedding rows and any head whose output width equals a table's row count (lm_head of V).
  const tableRows = new Set(layers.filter((l) => l.callee === 'Embedding').map((l) => l.tensors[0]?.shape[0]));
  const embeddingParams = layers
    .filter((l) => l.callee === 'Embedding' || (l.callee === 'Linear' && tableRows.has(l.tensors[0]?.shape[0])))
    .reduce((p, l) => p + l.params, 0);
  const params = m.params.reduce((p, q) => p + numel(q.shape), 0);
  const byId = new Map(m.graph.nodes.map((n) => [n.id, n]));
  return {
    name,
    preset: m.instance.preset ?? null,
    params,
    trainableParams: m.params.filter((p) => p.trainable).reduce((p, q) => p + numel(q.shape), 0),
    flops: m.flops,
    activationBytes: layers.reduce((p, l) => p + l.activationBytes, 0),
    embeddingParams,
    inputs: m.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    outputs: m.outputs.map((o) => ({ name: o.name, shape: byId.get(o.node)?.shape ?? [] })),
    layers,
  };
}

/** 1234567 → "1.23M". */
export function human(n: number, unit = ''): string {
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, s] of steps) if (Math.abs(n) >= v) return `${(n / v).toFixed(2)}${s}${unit}`;
  return `${n}${unit}`;
}

/** 1536 → "1.5 KiB": binary units, one decimal (`scion explain`, and the resource estimates of jobs/resources.ts). */
export function formatBytes(n: number): string {
  const steps: [number, string][] = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [v, s] of steps) if (n >= v) return `${(n / v).toFixed(1)} ${s}`;
  return `${n} B`;
}

/** The text table: one row per layer, its parameter tensors beneath it, then totals. */
export function formatReport(r: ModelReport, opts: { tensors?: boolean } = {}): string {
  const rows: string[][] = [['layer', 'kind', 'output', 'params', 'FLOPs', 'activations']];
  for (const l of r.layers) {
    rows.push([l.path, l.callee, `[${l.shape.join(', ')}]`, l.params.toLocaleString('en-US'), human(l.flops), formatBytes(l.activationBytes)]);
    if (opts.tensors !== false)
      for (const t of l.tensors) rows.push([`  ${t.path}`, '', `[${t.shape.join(', ')}]`, numel(t.shape).toLocaleString('en-US'), t.init, '']);
  }
  // A fold, not Math.max(...rows): a spread of 100,000 layers' rows overflows the argument stack.
  const widths = rows[0]?.map((_c, k) => rows.reduce((w, row) => Math.max(w, (row[k] ?? '').length), 0)) ?? [];
  const line = (row: string[]): string =>
    row
      .map((c, k) => (k >= 3 ? c.padStart(widths[k] ?? 0) : c.padEnd(widths[k] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [`model ${r.name}${r.preset === null ? '' : ` (preset ${r.preset})`}`];
  out.push(`inputs: ${r.inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape.join(', ')}]`).join(', ')}`);
  out.push(`outputs: ${r.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`, '');
  for (const row of rows) out.push(line(row)); // a loop, not push(...rows): see `widths`
  out.push('');
  const share = r.params === 0 ? 0 : (100 * r.embeddingParams) / r.params;
  out.push(`parameters: ${r.params.toLocaleString('en-US')} (${human(r.params)}), trainable ${r.trainableParams.toLocaleString('en-US')}`);
  out.push(`embeddings and vocab-sized heads: ${r.embeddingParams.toLocaleString('en-US')} (${share.toFixed(1)}% of parameters)`);
  out.push(`forward FLOPs: ${human(r.flops)} (${r.flops.toLocaleString('en-US')})`);
  out.push(`activation memory (forward, f32): ${formatBytes(r.activationBytes)}`);
  return `${out.join('\n')}\n`;
}
