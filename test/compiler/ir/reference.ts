// Straightforward JS reference implementations (plain loops over row-major arrays), written
// independently of the IR, for checking the compositions in compose.ts.

export function det(n: number, seed: number, scale = 1): number[] {
  return Array.from({ length: n }, (_v, i) => scale * Math.sin(seed * 12.9898 + i * 78.233) * 1.7);
}

export function softmaxRef(x: number[], n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, (r + 1) * n);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

export const logSoftmaxRef = (x: number[], n: number): number[] => softmaxRef(x, n).map(Math.log);

export function layerNormRef(x: number[], n: number, w: number[], b: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, (r + 1) * n);
    const mu = row.reduce((a, v) => a + v, 0) / n;
    const v = row.reduce((a, u) => a + (u - mu) ** 2, 0) / n;
    row.forEach((u, i) => out.push(((u - mu) / Math.sqrt(v + eps)) * (w[i] as number) + (b[i] as number)));
  }
  return out;
}

export function rmsNormRef(x: number[], n: number, w: number[], eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, (r + 1) * n);
    const ms = row.reduce((a, v) => a + v * v, 0) / n;
    row.forEach((u, i) => out.push((u / Math.sqrt(ms + eps)) * (w[i] as number)));
  }
  return out;
}

/** x [N, C, HW] flattened; groups of C/G channels. */
export function groupNormRef(x: number[], n: number, c: number, hw: number, g: number, w: number[], b: number[], eps: number): number[] {
  const out = new Array<number>(x.length);
  const per = (c / g) * hw;
  for (let s = 0; s < n; s++) {
    for (let k = 0; k < g; k++) {
      const start = s * c * hw + k * per;
      const vals = x.slice(start, start + per);
      const mu = vals.reduce((a, v) => a + v, 0) / per;
      const v = vals.reduce((a, u) => a + (u - mu) ** 2, 0) / per;
      for (let i = 0; i < per; i++) {
        const ch = k * (c / g) + Math.floor(i / hw);
        out[start + i] = (((vals[i] as number) - mu) / Math.sqrt(v + eps)) * (w[ch] as number) + (b[ch] as number);
      }
    }
  }
  return out;
}

export function crossEntropyRef(logits: number[], v: number, labels: number[], ignore: number): number {
  const lsm = logSoftmaxRef(logits, v);
  let s = 0,
    count = 0;
  labels.forEach((l, r) => {
    if (l === ignore) return;
    s -= lsm[r * v + l] as number;
    count++;
  });
  return s / Math.max(count, 1);
}

export function klRef(student: number[], teacher: number[], v: number, t: number): number {
  const ls = logSoftmaxRef(
    student.map((x) => x / t),
    v,
  );
  const lt = logSoftmaxRef(
    teacher.map((x) => x / t),
    v,
  );
  const rows = student.length / v;
  let s = 0;
  for (let i = 0; i < student.length; i++) s += Math.exp(lt[i] as number) * ((lt[i] as number) - (ls[i] as number));
  return (t * t * s) / rows;
}

/** HF llama: rotate_half RoPE on q/k [B, H, T, D], repeat_kv, causal softmax attention. */
export function llamaAttentionRef(q: number[], k: number[], v: number[], bs: number, h: number, kv: number, t: number, d: number, base: number): number[] {
  const idx = (b: number, hh: number, i: number, j: number, heads: number) => ((b * heads + hh) * t + i) * d + j;
  const rope = (x: number[], heads: number): number[] => {
    const out = [...x];
    for (let b = 0; b < bs; b++)
      for (let hh = 0; hh < heads; hh++)
        for (let p = 0; p < t; p++)
          for (let j = 0; j < d; j++) {
            const f = p / base ** ((2 * (j % (d / 2))) / d);
            const rot = j < d / 2 ? -(x[idx(b, hh, p, j + d / 2, heads)] as number) : (x[idx(b, hh, p, j - d / 2, heads)] as number);
            out[idx(b, hh, p, j, heads)] = (x[idx(b, hh, p, j, heads)] as number) * Math.cos(f) + rot * Math.sin(f);
          }
    return out;
  };
  const qr = rope(q, h);
  const kr = rope(k, kv);
  const out = new Array<number>(bs * h * t * d).fill(0);
  for (let b = 0; b < bs; b++)
    for (let hh = 0; hh < h; hh++) {
      const g = Math.floor(hh / (h / kv));
      for (let i = 0; i < t; i++) {
        const sc: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let e = 0; e < d; e++) s += (qr[idx(b, hh, i, e, h)] as number) * (kr[idx(b, g, j, e, kv)] as number);
          sc.push(s / Math.sqrt(d));
        }
        const p = softmaxRef(sc, sc.length);
        for (let j = 0; j <= i; j++)
          for (let e = 0; e < d; e++) {
            const o = idx(b, hh, i, e, h);
            out[o] = (out[o] as number) + (p[j] as number) * (v[idx(b, g, j, e, kv)] as number);
          }
      }
    }
  return out;
}
