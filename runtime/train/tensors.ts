// Named f32 tensors: the one currency of the training runtime. Parameters, gradients and
// optimizer state are all `name → Float32Array`, so this layer never needs the graph's details.

/** Parameters (mutated in place by optimizers) or any other named set of f32 tensors. */
export type NamedTensors = Map<string, Float32Array>;

/** Gradients and other read-only named tensors. */
export type ReadonlyNamedTensors = ReadonlyMap<string, Float32Array>;

/** Names in code-unit order: every loop over tensors visits them the same way, so runs repeat bit for bit. */
export function sortedNames(tensors: ReadonlyNamedTensors): string[] {
  return [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A deep copy (fresh buffers). */
export function cloneTensors(tensors: ReadonlyNamedTensors): NamedTensors {
  return new Map([...tensors].map(([name, t]) => [name, t.slice()]));
}

/** The gradient for `name`, checked against its parameter; a missing or mis-sized gradient is a caller bug. */
export function gradFor(grads: ReadonlyNamedTensors, name: string, length: number): Float32Array {
  const g = grads.get(name);
  if (g === undefined) throw new Error(`no gradient for parameter '${name}'`);
  if (g.length !== length) throw new Error(`gradient for '${name}' has ${g.length} values, the parameter has ${length}`);
  return g;
}

/** The first non-finite value in a set of tensors (names in sorted order), or undefined. */
export function firstNonFinite(tensors: ReadonlyNamedTensors): { name: string; index: number; value: number } | undefined {
  for (const name of sortedNames(tensors)) {
    const t = tensors.get(name)!;
    for (let i = 0; i < t.length; i++) {
      const v = t[i]!;
      if (!Number.isFinite(v)) return { name, index: i, value: v };
    }
  }
  return undefined;
}
