// What the selection engine knows of a model: its parameter paths and shapes, and the layer calls
// (modules) that created them with the few arguments shapes do not show (heads, kv heads, norm
// groups). It is plain data, so the engine works the same on a lowered spec, a checkpoint header
// plus config.json, or a hand-written test layout.

export interface ParamEntry {
  /** Scion path, e.g. `layers.3.self_attn.q_proj.weight`. */
  readonly path: string;
  readonly shape: readonly number[];
}

export interface ModuleEntry {
  /** The `as` path of the layer call, e.g. `layers.3.self_attn`. */
  readonly path: string;
  /** The library layer (Attention, SwiGLU, RMSNorm, …) or a user layer's name. */
  readonly kind: string;
  /** Constant arguments of the call by name (heads, kv_heads, groups, …). */
  readonly args: Readonly<Record<string, number | string | boolean>>;
  /**
   * Where each tensor argument's channels come from (UNet channel spaces, channels.ts): per argument,
   * its concat segments in channel order, each the producers added together — layer paths, or
   * `$input:NAME` for a model input, `$?` when unknown. Absent for hand-written layouts.
   */
  readonly from?: Readonly<Record<string, readonly (readonly string[])[]>>;
}

export interface ModelLayout {
  readonly params: readonly ParamEntry[];
  readonly modules: readonly ModuleEntry[];
  /** The producers of every model output (same form as ModuleEntry.from segments), when known. */
  readonly outputs?: readonly (readonly string[])[];
}

/**
 * A user error in an inheritance declaration or its inputs; `problems` lists every one found, one
 * reason each, and `fields` the declaration field each problem belongs to (`heads`, `layers`, …)
 * where known, so pre-flight can report it at that line.
 */
export class InheritError extends Error {
  constructor(
    readonly problems: readonly string[],
    readonly fields: readonly (string | undefined)[] = [],
  ) {
    super(problems.length === 1 ? (problems[0] as string) : `inheritance failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InheritError';
  }
}

export function paramMap(layout: ModelLayout): Map<string, ParamEntry> {
  return new Map(layout.params.map((p) => [p.path, p]));
}

/** The parameters directly under a module path (`prefix.rest`). */
export function paramsUnder(layout: ModelLayout, prefix: string): ParamEntry[] {
  return layout.params.filter((p) => p.path.startsWith(`${prefix}.`));
}

/** Names of indexed layer stacks, most specific first; the first one present is the model's. */
const STACKS = ['layers', 'blocks', 'h'];

/** The model's stack of repeated blocks (`layers.0…layers.7`) and its depth, if it has one. */
export function layerStack(layout: ModelLayout): { name: string; depth: number } | undefined {
  for (const name of STACKS) {
    const ids = new Set<number>();
    for (const p of layout.params) {
      const m = new RegExp(`^${name}\\.(\\d+)\\.`).exec(p.path);
      if (m !== null) ids.add(Number(m[1]));
    }
    if (ids.size > 0) return { name, depth: Math.max(...ids) + 1 };
  }
  return undefined;
}

/** The residual width: the token embedding's columns (or the first norm's size). */
export function residualWidth(layout: ModelLayout): number | undefined {
  const emb = layout.modules.find((m) => m.kind === 'Embedding');
  if (emb !== undefined) return layout.params.find((p) => p.path === `${emb.path}.weight`)?.shape[1];
  const norm = layout.modules.find((m) => m.kind === 'RMSNorm' || m.kind === 'LayerNorm');
  return norm === undefined ? undefined : layout.params.find((p) => p.path === `${norm.path}.weight`)?.shape[0];
}
