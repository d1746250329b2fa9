// Independent plain-JS implementations of the BA-LoRA regularizers (research/seeds.md §3.2/§3.3),
// written straight from the formulas on row-major arrays, for the graph compositions to match.
// Singular values come from a Jacobi eigen-solver on ZᵀZ (not the runtime's SVD).

export type Matrix = number[][];

const softmax = (row: readonly number[]): number[] => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((p, v) => p + v, 0);
  return e.map((v) => v / s);
};

/** Σ_rows mask·v / Σ mask (mean without a mask). */
function maskedMean(v: readonly number[], mask?: readonly number[]): number {
  const w = mask ?? v.map(() => 1);
  const den = Math.max(
    1,
    w.reduce((p, x) => p + x, 0),
  );
  return v.reduce((p, x, i) => p + x * (w[i] as number), 0) / den;
}

/** T²·KL(softmax(P/T) ‖ softmax(F/T)) per row, masked mean. */
export function consistencyIclr(f: Matrix, p: Matrix, t: number, mask?: readonly number[]): number {
  const kl = f.map((row, i) => {
    const qf = softmax(row.map((v) => v / t));
    const qp = softmax((p[i] as number[]).map((v) => v / t));
    return qp.reduce((s, pp, j) => s + pp * (Math.log(pp) - Math.log(qf[j] as number)), 0);
  });
  return t * t * maskedMean(kl, mask);
}

const normalize = (row: readonly number[]): number[] => {
  const n = Math.max(Math.sqrt(row.reduce((s, v) => s + v * v, 0)), 1e-12);
  return row.map((v) => v / n);
};

/** mean((normalize(F) − normalize(P))²) over valid rows and columns. */
export function consistencyArxiv(f: Matrix, p: Matrix, mask?: readonly number[]): number {
  const per = f.map((row, i) => {
    const a = normalize(row);
    const b = normalize(p[i] as number[]);
    return a.reduce((s, v, j) => s + (v - (b[j] as number)) ** 2, 0) / row.length;
  });
  return maskedMean(per, mask);
}

/** −mean entropy of softmax over each row's k largest values. */
export function topkEntropy(z: Matrix, k: number, mask?: readonly number[]): number {
  const h = z.map((row) => {
    const top = [...row].sort((a, b) => b - a).slice(0, Math.min(k, row.length));
    const p = softmax(top);
    return -p.reduce((s, v) => s + v * Math.log(v), 0);
  });
  return -maskedMean(h, mask);
}

/** (1/D)·Σ_{i≠j} C_ij² with C the sample covariance (N−1) of the valid rows. */
export function covarianceOffDiag(z: Matrix, mask?: readonly number[]): number {
  const rows = z.filter((_r, i) => mask === undefined || mask[i] === 1);
  const n = rows.length;
  const d = (rows[0] as number[]).length;
  const mu = Array.from({ length: d }, (_v, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / n);
  let total = 0;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      if (i === j) continue;
      let c = 0;
      for (const r of rows) c += ((r[i] as number) - (mu[i] as number)) * ((r[j] as number) - (mu[j] as number));
      total += (c / (n - 1)) ** 2;
    }
  return total / d;
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigenvalues(a: Matrix): number[] {
  const m = a.map((r) => [...r]);
  const n = m.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += (m[i]![j] as number) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((m[q]![q] as number) - (m[p]![p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k]![p] as number;
          const akq = m[k]![q] as number;
          m[k]![p] = c * akp - s * akq;
          m[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p]![k] as number;
          const aqk = m[q]![k] as number;
          m[p]![k] = c * apk - s * aqk;
          m[q]![k] = s * apk + c * aqk;
        }
      }
  }
  return m.map((r, i) => r[i] as number);
}

/** Singular values of Z (descending), as √eig(ZᵀZ) or √eig(ZZᵀ), whichever is smaller. */
export function singularValues(z: Matrix): number[] {
  const rows = z.length;
  const cols = (z[0] as number[]).length;
  const small = Math.min(rows, cols);
  const g: Matrix = Array.from({ length: small }, (_r, i) =>
    Array.from({ length: small }, (_c, j) => {
      let s = 0;
      if (cols <= rows) for (let k = 0; k < rows; k++) s += (z[k]![i] as number) * (z[k]![j] as number);
      else for (let k = 0; k < cols; k++) s += (z[i]![k] as number) * (z[j]![k] as number);
      return s;
    }),
  );
  return symmetricEigenvalues(g)
    .map((v) => Math.sqrt(Math.max(v, 0)))
    .sort((a, b) => b - a);
}

/** −Σ_{i≤k} σ_i / (Σσ or ‖Z‖_F), 0 below 1e-8; masked rows dropped. */
export function svdEnergyRef(z: Matrix, k: number, norm: 'sum_sigma' | 'frobenius', mask?: readonly number[]): number {
  const rows = z.filter((_r, i) => mask === undefined || mask[i] === 1);
  const s = singularValues(rows);
  const top = s.slice(0, k).reduce((p, v) => p + v, 0);
  const den = norm === 'sum_sigma' ? s.reduce((p, v) => p + v, 0) : Math.sqrt(rows.flat().reduce((p, v) => p + v * v, 0));
  return den < 1e-8 ? 0 : -top / den;
}
