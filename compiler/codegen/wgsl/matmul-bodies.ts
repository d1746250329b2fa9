// The `main` functions of the matmul variants (matmul.ts writes the shared header: the `Dims`
// uniform, bindings a/b/c/bias, `epilogue` and `epilogue4`). Loops over the 4×4 register block are
// unrolled here in TypeScript so each accumulator is its own variable: drivers (lavapipe
// included) keep scalars and vectors in registers but may spill a function-scope array.

const R = [0, 1, 2, 3] as const;
const lines = (f: (i: number) => string): string => R.map(f).join('\n  ');

/**
 * Register blocking: thread (x, y) owns C rows 4y..4y+3 and columns 4x..4x+3 of its batch entry.
 * vec4 form (K % 4 == 0, N % 4 == 0): per step along K it loads four vec4 of A (one per row, four
 * consecutive k) and four vec4 of B (four k rows, four columns) and does 64 FMAs — the load count
 * is what limits lavapipe, where each storage load is expensive.
 * Scalar form: the same block with clamped scalar loads, for odd shapes.
 */
export function registerBody(vec4: boolean, wx: number, wy: number, rows = 4, cols4 = 1): string {
  return vec4 ? registerVec4Body(wx, wy, rows, cols4) : registerScalarBody(wx, wy);
}

function registerVec4Body(wx: number, wy: number, rows = 4, cols4 = 1): string {
  const I = [...Array(rows).keys()];
  const J = [...Array(cols4).keys()];
  const each = <T>(xs: T[], f: (x: T) => string): string => xs.map(f).join('\n  ');
  const loads = J.flatMap((j) => [0, 1, 2, 3].map((t) => `let b${j}_${t} = b[br + ${t}u * n4 + bc${j}];`));
  const fmas = I.flatMap((i) =>
    J.map(
      (j) =>
        `acc${i}_${j} = fma(vec4f(a${i}.x), b${j}_0, fma(vec4f(a${i}.y), b${j}_1, fma(vec4f(a${i}.z), b${j}_2, fma(vec4f(a${i}.w), b${j}_3, acc${i}_${j}))));`,
    ),
  );
  const stores = I.map(
    (i) =>
      `if (row0 + ${i}u < dims.M) {\n    ${J.map((j) => `if (col4 + ${j}u < n4) { c[cOff + (row0 + ${i}u) * n4 + col4 + ${j}u] = epilogue4(acc${i}_${j}, (col4 + ${j}u) * 4u); }`).join('\n    ')}\n  }`,
  );
  return `
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = dims.N / 4u;
  let k4 = dims.K / 4u;
  let col4 = gid.x * ${cols4}u;
  let row0 = gid.y * ${rows}u;
  // no barriers in this kernel, so threads past the edge may leave early
  if (col4 >= n4 || row0 >= dims.M || gid.z >= dims.batch) { return; }
  let aOff = gid.z * (dims.strideA / 4u);
  let bOff = gid.z * (dims.strideB / 4u);
  let cOff = gid.z * (dims.strideC / 4u);
  let lastRow = dims.M - 1u;
  let lastCol4 = n4 - 1u;
  // rows past M read row M-1 (in bounds) and are never stored
  ${each(I, (i) => `let ra${i} = aOff + min(row0 + ${i}u, lastRow) * k4;`)}
  ${each(I, (i) => each(J, (j) => `var acc${i}_${j} = vec4f(0.0);`))}
  // columns past N read column N-1 (in bounds) and are never stored
  ${each(J, (j) => `let bc${j} = min(col4 + ${j}u, lastCol4);`)}
  var br = bOff;
  for (var kk = 0u; kk < k4; kk++) {
    ${loads.join('\n    ')}
    br += 4u * n4;
    ${each(I, (i) => `let a${i} = a[ra${i} + kk];`)}
    ${fmas.join('\n    ')}
  }
  ${stores.join('\n  ')}
}
`;
}

function registerScalarBody(wx: number, wy: number): string {
  return `
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * 4u;
  let row0 = gid.y * 4u;
  if (col0 >= dims.N || row0 >= dims.M || gid.z >= dims.batch) { return; }
  let aOff = gid.z * dims.strideA;
  let bOff = gid.z * dims.strideB;
  let cOff = gid.z * dims.strideC;
  let lastRow = dims.M - 1u;
  let lastCol = dims.N - 1u;
  // indices past the edge are clamped to the last row/column: in bounds, never stored
  ${lines((i) => `let ra${i} = aOff + min(row0 + ${i}u, lastRow) * dims.K;`)}
  ${lines((j) => `let cb${j} = min(col0 + ${j}u, lastCol);`)}
  ${lines((i) => `var acc${i} = vec4f(0.0);`)}
  for (var k = 0u; k < dims.K; k++) {
    let br = bOff + k * dims.N;
    let bv = vec4f(b[br + cb0], b[br + cb1], b[br + cb2], b[br + cb3]);
    ${lines((i) => `acc${i} = fma(vec4f(a[ra${i} + k]), bv, acc${i});`)}
  }
  ${lines(
    (i) => `if (row0 + ${i}u < dims.M) {
    let cr = cOff + (row0 + ${i}u) * dims.N;
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < dims.N) { c[cr + col0 + j] = epilogue(acc${i}[j], col0 + j); }
    }
  }`,
  )}
}
`;
}

/**
 * Classic tiling: a 16×16 workgroup computes a 64×64 tile of C, staging 64×16 of A and 16×64 of B
 * through workgroup memory per step along K (8 KiB), each thread a 4×4 block. Out-of-range
 * elements are staged as zeros, so K and the edges need no special case.
 */
export function tiledBody(): string {
  return `
const TILE = 64u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>; // [TILE rows][TK]
var<workgroup> Bs: array<f32, 1024>; // [TK][TILE cols]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tid = lid.y * 16u + lid.x;
  let rowBase = wid.y * TILE;
  let colBase = wid.x * TILE;
  let aOff = wid.z * dims.strideA;
  let bOff = wid.z * dims.strideB;
  let cOff = wid.z * dims.strideC;
  ${lines((i) => `var acc${i} = vec4f(0.0);`)}
  // barriers below need uniform control flow: no early return, stores are guarded instead
  for (var k0 = 0u; k0 < dims.K; k0 += TK) {
    for (var s = 0u; s < 4u; s++) {
      let e = tid + s * 256u;
      let ar = rowBase + e / TK;
      let ak = k0 + e % TK;
      var av = 0.0;
      if (ar < dims.M && ak < dims.K) { av = a[aOff + ar * dims.K + ak]; }
      As[e] = av;
      let bk = k0 + e / TILE;
      let bc = colBase + e % TILE;
      var bv = 0.0;
      if (bk < dims.K && bc < dims.N) { bv = b[bOff + bk * dims.N + bc]; }
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let bb = kk * TILE + lid.x * 4u;
      let bv = vec4f(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      ${lines((i) => `acc${i} = fma(vec4f(As[(lid.y * 4u + ${i}u) * TK + kk]), bv, acc${i});`)}
    }
    workgroupBarrier();
  }
  let col0 = colBase + lid.x * 4u;
  ${lines(
    (i) => `{
    let row = rowBase + lid.y * 4u + ${i}u;
    if (row < dims.M && wid.z < dims.batch) {
      for (var j = 0u; j < 4u; j++) {
        if (col0 + j < dims.N) { c[cOff + row * dims.N + col0 + j] = epilogue(acc${i}[j], col0 + j); }
      }
    }
  }`,
  )}
}
`;
}

/** One thread per element of C, a plain dot product along K. */
export function naiveBody(): string {
  return `
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let row = gid.y;
  if (col >= dims.N || row >= dims.M || gid.z >= dims.batch) { return; }
  let ar = gid.z * dims.strideA + row * dims.K;
  let bc = gid.z * dims.strideB + col;
  var s = 0.0;
  for (var k = 0u; k < dims.K; k++) {
    s = fma(a[ar + k], b[bc + k * dims.N], s);
  }
  c[gid.z * dims.strideC + row * dims.N + col] = epilogue(s, col);
}
`;
}
