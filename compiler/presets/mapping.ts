// Naming presets: the explicit, loud map between Scion parameter paths and the tensor names and
// layouts of a known family's checkpoints (Hugging Face llama and gpt2, DiT's own names, diffusers'
// UNet). A preset is a list of rules; a plan pairs every parameter of one instantiated model with
// exactly one checkpoint tensor, and both directions (toCheckpoint, fromCheckpoint) run off the
// plan, so they cannot disagree. Problems are collected and reported all at once, before any data
// is moved: which names are missing, which are extra, which shapes differ.

/** A dense float tensor in row-major order (what checkpoints hold after decoding). */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface ParamShape {
  readonly path: string;
  readonly shape: readonly number[];
}

/**
 * One rule. `scion` and `hf` are templates: `{n}` matches one path segment, `{rest...}` any tail.
 * With several `scion` templates the checkpoint tensor is their concatenation along `axis` (in Scion
 * layout), e.g. GPT-2's fused `c_attn` = [q; k; v]. `transpose` swaps the two axes of a 2-D tensor
 * (GPT-2's Conv1D stores [in, out] where Linear stores [out, in]).
 */
export interface PresetRule {
  readonly scion: string | readonly string[];
  readonly hf: string;
  readonly axis?: number;
  readonly transpose?: boolean;
  /** Checkpoint names tried, in order, when reading and `hf` is absent (tied or unprefixed copies). */
  readonly readFallbacks?: readonly string[];
}

export interface NamingPreset {
  readonly name: string;
  readonly rules: readonly PresetRule[];
  /** Checkpoint tensors that are buffers, not parameters (ignored when reading). */
  readonly buffers?: readonly RegExp[];
}

/** One checkpoint tensor and the Scion parameters it is made of. */
export interface PlanEntry {
  readonly hf: string;
  readonly parts: readonly ParamShape[];
  readonly axis: number;
  readonly transpose: boolean;
  /** The tensor's shape in the checkpoint. */
  readonly shape: readonly number[];
  readonly readFallbacks: readonly string[];
}

export class MappingError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`weight mapping failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'MappingError';
  }
}

interface Template {
  re: RegExp;
  vars: string[];
}

function compile(template: string): Template {
  const vars: string[] = [];
  const src = template.replace(/\{(\w+)(\.\.\.)?\}|[.*+?^$()[\]\\|]/g, (m, name: string | undefined, tail: string | undefined) => {
    if (name === undefined) return `\\${m}`;
    vars.push(name);
    return tail === undefined ? '([^.]+)' : '(.+)';
  });
  return { re: new RegExp(`^${src}$`), vars };
}

function fill(template: string, vars: ReadonlyMap<string, string>): string {
  return template.replace(/\{(\w+)(?:\.\.\.)?\}/g, (_m, name: string) => {
    const v = vars.get(name);
    if (v === undefined) throw new Error(`bug: preset template '${template}' uses an unbound {${name}}`);
    return v;
  });
}

function match(template: string, path: string): Map<string, string> | undefined {
  const t = compile(template);
  const m = t.re.exec(path);
  if (m === null) return undefined;
  return new Map(t.vars.map((v, k) => [v, m[k + 1] ?? '']));
}

/** Concatenated shape along `axis`, then transposed when asked. */
function fusedShape(parts: readonly ParamShape[], axis: number, transpose: boolean, hf: string): number[] {
  const first = parts[0];
  if (first === undefined) throw new Error(`bug: '${hf}' has no parts`);
  const shape = [...first.shape];
  for (const p of parts.slice(1)) {
    if (p.shape.length !== shape.length || p.shape.some((d, k) => k !== axis && d !== shape[k])) {
      throw new MappingError([`'${hf}' fuses parts of different shapes: ${parts.map((q) => `${q.path} [${q.shape.join(', ')}]`).join(', ')}`]);
    }
    shape[axis] = (shape[axis] ?? 0) + (p.shape[axis] ?? 0);
  }
  if (transpose) {
    if (shape.length !== 2) return shape; // biases of transposed layers stay as they are
    return [shape[1] ?? 0, shape[0] ?? 0];
  }
  return shape;
}

/** Pairs every parameter with one checkpoint tensor; throws MappingError naming every unmapped one. */
export function planMapping(preset: NamingPreset, params: readonly ParamShape[]): PlanEntry[] {
  const byPath = new Map(params.map((p) => [p.path, p]));
  const used = new Set<string>();
  const entries: PlanEntry[] = [];
  const problems: string[] = [];
  for (const p of params) {
    if (used.has(p.path)) continue;
    let mapped = false;
    for (const rule of preset.rules) {
      const templates = typeof rule.scion === 'string' ? [rule.scion] : rule.scion;
      for (const [k, tpl] of templates.entries()) {
        const vars = match(tpl, p.path);
        if (vars === undefined) continue;
        const partPaths = templates.map((t) => fill(t, vars));
        const parts = partPaths.map((q) => byPath.get(q));
        if (parts.some((q) => q === undefined)) {
          problems.push(
            `'${p.path}' is part ${k + 1} of fused '${fill(rule.hf, vars)}', but ${partPaths
              .filter((_, j) => parts[j] === undefined)
              .map((q) => `'${q}'`)
              .join(', ')} is missing`,
          );
        } else {
          const ps = parts as ParamShape[];
          const axis = rule.axis ?? 0;
          const transpose = rule.transpose ?? false;
          const hf = fill(rule.hf, vars);
          entries.push({
            hf,
            parts: ps,
            axis,
            transpose,
            shape: fusedShape(ps, axis, transpose, hf),
            readFallbacks: (rule.readFallbacks ?? []).map((f) => fill(f, vars)),
          });
        }
        for (const q of partPaths) used.add(q);
        mapped = true;
        break;
      }
      if (mapped) break;
    }
    if (!mapped) problems.push(`no ${preset.name} name for the parameter '${p.path}' [${p.shape.join(', ')}]`);
  }
  const seen = new Map<string, string>();
  for (const e of entries) {
    const prev = seen.get(e.hf);
    if (prev !== undefined) problems.push(`'${prev}' and '${e.parts[0]?.path}' both map to '${e.hf}'`);
    seen.set(e.hf, e.parts[0]?.path ?? '');
  }
  if (problems.length > 0) throw new MappingError(problems);
  return entries;
}

function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j] as number;
  return { shape: [c, r], data: out };
}

/** Concatenates along `axis`: row-major, so each part contributes `outer` contiguous blocks. */
function concat(parts: readonly HostTensor[], axis: number): HostTensor {
  const first = parts[0];
  if (first === undefined) throw new Error('bug: concat of nothing');
  const outer = first.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = first.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = parts.reduce((a, p) => a + (p.shape[axis] ?? 0), 0);
  const out = new Float32Array(outer * total * inner);
  let offset = 0;
  for (const p of parts) {
    const block = (p.shape[axis] ?? 0) * inner;
    for (let o = 0; o < outer; o++) out.set(p.data.subarray(o * block, (o + 1) * block), o * total * inner + offset);
    offset += block;
  }
  const shape = [...first.shape];
  shape[axis] = total;
  return { shape, data: out };
}

function split(t: HostTensor, sizes: readonly number[], axis: number): HostTensor[] {
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = t.shape[axis] ?? 0;
  let offset = 0;
  return sizes.map((s) => {
    const out = new Float32Array(outer * s * inner);
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * total * inner + offset, o * total * inner + offset + s * inner), o * s * inner);
    offset += s * inner;
    const shape = [...t.shape];
    shape[axis] = s;
    return { shape, data: out };
  });
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, k) => d === b[k]);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Scion parameters → checkpoint tensors (names and layouts of the family). */
export function toCheckpoint(plan: readonly PlanEntry[], params: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  const problems: string[] = [];
  for (const e of plan) {
    for (const p of e.parts) {
      const t = params.get(p.path);
      if (t === undefined) problems.push(`missing parameter '${p.path}'`);
      else if (!sameShape(t.shape, p.shape)) problems.push(`'${p.path}' is ${fmt(t.shape)}, expected ${fmt(p.shape)}`);
    }
  }
  if (problems.length > 0) throw new MappingError(problems);
  const out = new Map<string, HostTensor>();
  for (const e of plan) {
    const parts = e.parts.map((p) => params.get(p.path) as HostTensor);
    let t = parts.length === 1 ? (parts[0] as HostTensor) : concat(parts, e.axis);
    if (e.transpose && t.shape.length === 2) t = transpose2d(t);
    out.set(e.hf, t);
  }
  return out;
}

/**
 * Checkpoint tensors → Scion parameters. `names` are the checkpoint's tensor names and `shapeOf`
 * their shapes (both known from a header before any data is read); every missing, extra or
 * mismatched tensor is reported before `read` is called once.
 */
export async function fromCheckpoint(
  preset: NamingPreset,
  plan: readonly PlanEntry[],
  shapeOf: (name: string) => readonly number[] | undefined,
  names: readonly string[],
  read: (name: string) => Promise<HostTensor>,
): Promise<Map<string, HostTensor>> {
  const problems: string[] = [];
  const source = new Map<PlanEntry, string>();
  const consumed = new Set<string>();
  for (const e of plan) {
    const name = [e.hf, ...e.readFallbacks].find((n) => shapeOf(n) !== undefined);
    if (name === undefined) {
      problems.push(`missing tensor '${e.hf}' ${fmt(e.shape)} (for ${e.parts.map((p) => `'${p.path}'`).join(', ')})`);
      continue;
    }
    const shape = shapeOf(name) as readonly number[];
    if (!sameShape(shape, e.shape)) problems.push(`'${name}' is ${fmt(shape)}, expected ${fmt(e.shape)} (for ${e.parts.map((p) => `'${p.path}'`).join(', ')})`);
    source.set(e, name);
    consumed.add(name);
  }
  const fallbacks = new Set(plan.flatMap((e) => e.readFallbacks));
  for (const n of names) {
    if (consumed.has(n) || fallbacks.has(n) || (preset.buffers ?? []).some((b) => b.test(n))) continue;
    problems.push(`unexpected tensor '${n}' ${fmt(shapeOf(n) ?? [])}: no parameter of the model maps to it`);
  }
  if (problems.length > 0) throw new MappingError(problems);
  const out = new Map<string, HostTensor>();
  for (const e of plan) {
    let t = await read(source.get(e) as string);
    if (e.transpose && t.shape.length === 2) t = transpose2d(t);
    const parts =
      e.parts.length === 1
        ? [t]
        : split(
            t,
            e.parts.map((p) => p.shape[e.axis] ?? 0),
            e.axis,
          );
    e.parts.forEach((p, k) => out.set(p.path, { shape: p.shape, data: (parts[k] as HostTensor).data }));
  }
  return out;
}
