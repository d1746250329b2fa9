// f16 storage of weights in WGSL (`precision: 'f16'`): the arena that kernel/plan-memory-f16.ts
// sets aside for weights is declared `array<f16>`, and every read of it is widened to f32 where it
// is loaded, so all arithmetic — matmul accumulators and reductions included — stays f32; only the
// stored weights are rounded (to the nearest f16, on upload: runtime/webgpu/f16-convert.ts).

/**
 * Rewrites a rendered kernel for f16 arenas: `A<a>: array<f32>` becomes `array<f16>` and every
 * read `A<a>[...]` becomes `f32(A<a>[...])`. The renderer (and the blocked matmul) stay f32-only;
 * this is the one place that knows the weights are narrower. Writing an f16 arena is a bug.
 */
export function widenHalfLoads(code: string, half: ReadonlySet<number>): string {
  return widenReads(code, half).replace(/var<storage, read_write> A(\d+): array<f32>;/g, (decl, a: string) =>
    half.has(Number(a)) ? decl.replace('array<f32>', 'array<f16>') : decl,
  );
}

/** `code` with every read of an f16 arena wrapped in f32(...), index expressions included. */
function widenReads(code: string, half: ReadonlySet<number>): string {
  let out = '';
  let from = 0;
  const access = /\bA(\d+)\[/g;
  for (let m = access.exec(code); m !== null; m = access.exec(code)) {
    if (!half.has(Number(m[1]))) continue;
    let depth = 0;
    let end = m.index + m[0].length - 1;
    for (; end < code.length; end++) {
      const ch = code[end];
      if (ch === '[') depth++;
      else if (ch === ']' && --depth === 0) break;
    }
    if (/^\s*=[^=]/.test(code.slice(end + 1, end + 4))) throw new Error(`f16 storage bug: a kernel writes f16 arena A${m[1]}`);
    const open = m.index + m[0].length;
    out += `${code.slice(from, m.index)}f32(A${m[1]}[${widenReads(code.slice(open, end), half)}])`;
    from = end + 1;
    access.lastIndex = from;
  }
  return out + code.slice(from);
}
