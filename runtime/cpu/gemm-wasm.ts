// The GEMM micro-kernel in WebAssembly SIMD (f64x2), for the hot loop of gemm.ts.
//
// It computes, for one packed A panel (4 rows, [k, 4]) and every packed B column panel ([k, 4]
// each), the 4×4 tile of f64 sums, exactly as the scalar loop does: each sum starts at 0 and adds
// a·b for p = 0, 1, …, k−1, one rounded multiply and one rounded add per step (f64x2.mul and
// f64x2.add are IEEE operations; nothing is fused). So the results are bit for bit those of the
// JavaScript loop, on every engine; the gain is two multiply-adds per instruction and four
// broadcast loads of A per step instead of eight scalar loads.
//
// The module is a few hundred bytes, assembled here (no toolchain, nothing generated in the repo):
//   panel(ap, bp, out, k, nb, rs): for jb in 0..nb:
//     c[r] (r = 0..3, two f64x2 each) = Σ_p splat(A[p, r]) · B_jb[p, 0..3]
//     stored at out + jb·32 + r·rs (bytes), row r of the [4, 4·nb] output panel.
// Memory is the module's own (exported as `mem`); the caller packs A and B into it.

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

// Opcodes used below.
const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const i32c = (v: number): number[] => [0x41, ...sleb(v)];
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const I32_LT_U = 0x49;
const I32_GE_U = 0x4f;
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
const memarg = (align: number, offset: number): number[] => [align, ...uleb(offset)];
const v128Load = (offset: number): number[] => simd(0x00, ...memarg(4, offset));
const v128Load64Splat = (offset: number): number[] => simd(0x0a, ...memarg(3, offset));
const v128Store = (offset: number): number[] => simd(0x0b, ...memarg(4, offset));
const v128Zero = (): number[] => simd(0x0c, ...new Array<number>(16).fill(0));
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;

function panelBody(): number[] {
  // params 0..5: ap, bp, out, k, nb, rs; locals: jb 6, pa 7, pb 8, pend 9, o 10 (i32),
  // c0..c7 11..18, a 19, b01 20, b23 21 (v128).
  const [AP, BP, OUT, K, NB, RS, JB, PA, PB, PEND, O] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const C = (i: number): number => 11 + i;
  const A = 19;
  const B01 = 20;
  const B23 = 21;
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  // c ← c + a·b for one accumulator.
  const madd = (c: number, b: number): number[] => [...get(c), ...get(A), ...get(b), ...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(c)];
  emit(i32c(0), set(JB));
  emit([0x02, 0x40], [0x03, 0x40]); // block $exit, loop $outer
  emit(get(JB), get(NB), [I32_GE_U], [0x0d, 1]); // br_if $exit
  for (let i = 0; i < 8; i++) emit(v128Zero(), set(C(i)));
  emit(get(AP), set(PA));
  emit(get(AP), get(K), i32c(5), [I32_SHL], [I32_ADD], set(PEND));
  emit(get(JB), get(K), [I32_MUL], i32c(5), [I32_SHL], get(BP), [I32_ADD], set(PB));
  emit([0x03, 0x40]); // loop $inner (k ≥ 1: the caller guarantees it)
  emit(get(PB), v128Load(0), set(B01), get(PB), v128Load(16), set(B23));
  for (let r = 0; r < 4; r++) emit(get(PA), v128Load64Splat(r * 8), set(A), madd(C(2 * r), B01), madd(C(2 * r + 1), B23));
  emit(get(PA), i32c(32), [I32_ADD], set(PA), get(PB), i32c(32), [I32_ADD], set(PB));
  emit(get(PA), get(PEND), [I32_LT_U], [0x0d, 0], [0x0b]); // br_if $inner; end
  emit(get(OUT), get(JB), i32c(5), [I32_SHL], [I32_ADD], set(O));
  for (let r = 0; r < 4; r++) {
    emit(get(O), get(RS), i32c(r), [I32_MUL], [I32_ADD], get(C(2 * r)), v128Store(0));
    emit(get(O), get(RS), i32c(r), [I32_MUL], [I32_ADD], get(C(2 * r + 1)), v128Store(16));
  }
  emit(get(JB), i32c(1), [I32_ADD], set(JB), [0x0c, 0], [0x0b, 0x0b]); // br $outer; end loop; end block
  const locals = vec([
    [5, I32],
    [11, V128],
  ]);
  const body = [...locals, ...code, 0x0b];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = section(1, vec([[0x60, ...vec(new Array<number[]>(6).fill([I32])), 0x00]]));
  const funcs = section(3, vec([[0]]));
  const memory = section(5, vec([[0x00, 1]])); // min 1 page, no max
  const exports = section(
    7,
    vec([
      [...name('panel'), 0x00, 0],
      [...name('mem'), 0x02, 0],
    ]),
  );
  const codeSec = section(10, [...uleb(1), ...panelBody()]);
  return Uint8Array.from([...header, ...types, ...funcs, ...memory, ...exports, ...codeSec]);
}

/** The part of WebAssembly's memory the kernel's caller uses (lib ES2022 has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The WebAssembly namespace, as much of it as this file needs. */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

export interface WasmPanel {
  /** panel(ap, bp, out, k, nb, rs) with byte offsets into `memory`; k ≥ 1. */
  panel: (ap: number, bp: number, out: number, k: number, nb: number, rs: number) => void;
  memory: WasmMemory;
}

let cached: WasmPanel | null | undefined;

/**
 * The compiled kernel, or null where WebAssembly SIMD is missing (then gemm.ts keeps its scalar
 * loop). SCION_WASM=off (Node) also gives null, to compare the two paths.
 */
export function wasmPanel(): WasmPanel | null {
  if (cached !== undefined) return cached;
  cached = null;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (env?.['SCION_WASM'] === 'off' || wasm === undefined) return cached;
  const bytes = moduleBytes();
  if (!wasm.validate(bytes)) return cached;
  const instance = new wasm.Instance(new wasm.Module(bytes), {});
  const { panel, mem } = instance.exports as { panel: WasmPanel['panel']; mem: WasmMemory };
  cached = { panel, memory: mem };
  return cached;
}
