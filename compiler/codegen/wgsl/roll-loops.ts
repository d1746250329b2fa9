// Keeps constant-count loops rolled in the WGSL we emit.
//
// Why: lavapipe (Mesa's llvmpipe) fully unrolls every loop whose trip count it can prove — and
// our loops mostly have literal bounds (reduction rows, conv windows, matmul K). Unrolled, a
// 32-step reduction or a 2×4×4 conv-gradient window becomes hundreds of bounds-checked loads,
// and LLVM then spends seconds on one small shader. The first dispatch of such a pipeline
// waits for that compile (lavapipe compiles at first use), so the backward graphs of LiT, DiT
// and SmallUNet at test sizes took minutes from a cold Mesa shader cache — and 2–4 s once
// ~/.cache/mesa_shader_cache_db held their shaders, which is why they looked like a hang under
// vitest but not from a script run afterwards. Measured on one kernel of LiT's backward (cold
// cache, one run): reduction segment 2.5 s → 0.22 s, conv2d_grad_weight segment 2.8 s → 0.25 s.
// Small tiles are where it bites: at larger sizes trip counts exceed the unroll limit anyway.
//
// How: a loop `x = S; x < N` with literal S, N and N − S ≥ 2 gets the bound `x < Nu + ROLL0`,
// where the private ROLL0 is set at the top of `main` to `min(groups.z, 1u) - 1u`: 0 in every
// invocation that runs (a dispatch has at least one workgroup along z) but unknown to the
// driver's compiler, so the trip count is unknown and the loop stays a loop. Results are
// unchanged; only compile time (and a little loop overhead on tiny loops) differs. Loops of one
// step are left alone: they fold away.

/** The private that holds the opaque zero. */
const ZERO = 'ROLL0';

// Literal start and bound: only then can the driver count the trips (a lane-dependent start, as in
// subgroup-reduce.ts's strided loops, already keeps a loop rolled).
const LOOP_BOUND = /for \(var (\w+) = (\d+)u; \1 < (\d+)u;/g;
const MAIN = /^fn main\((.*)\) \{$/m;

/**
 * `code` with the bound of every loop of 2 or more literal steps made opaque to the driver's
 * compiler, or `code` unchanged when its `main` has no `num_workgroups` builtin named `groups`.
 *
 * @example
 *   rollLoops('fn f() { for (var j = 0u; j < 16u; j++) {} }\nfn main(@builtin(num_workgroups) groups: vec3u) {\n}')
 *   // bound becomes `16u + ROLL0`; main starts with `ROLL0 = min(groups.z, 1u) - 1u;`
 */
export function rollLoops(code: string): string {
  const main = MAIN.exec(code);
  if (main === null || !/@builtin\(num_workgroups\) groups: vec3u/.test(main[1] as string)) return code;
  let rolled = 0;
  const body = code.replace(LOOP_BOUND, (whole, v: string, start: string, n: string) => {
    if (Number(n) - Number(start) < 2) return whole;
    rolled++;
    return `for (var ${v} = ${start}u; ${v} < ${n}u + ${ZERO};`;
  });
  if (rolled === 0) return code;
  const withZero = body.replace(MAIN, (line) => `${line}\n  ${ZERO} = min(groups.z, 1u) - 1u; // 0, opaque: keeps loops rolled (roll-loops.ts)`);
  // Declared after the header comment and any `enable` lines (which must come first).
  const lines = withZero.split('\n');
  let at = 1;
  while (at < lines.length && (lines[at] as string).startsWith('enable ')) at++;
  lines.splice(at, 0, `var<private> ${ZERO}: u32;`);
  return lines.join('\n');
}
