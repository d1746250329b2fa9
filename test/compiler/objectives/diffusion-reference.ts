// An independent scalar reference of DiT's diffusion formulas (gaussian_diffusion.py), one element
// at a time, for the objective tests.

export const cdf = (x: number): number => 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const kl = (m1: number, lv1: number, m2: number, lv2: number): number => 0.5 * (-1 + lv2 - lv1 + Math.exp(lv1 - lv2) + (m1 - m2) ** 2 * Math.exp(-lv2));
export function discLogLik(x: number, m: number, logScale: number): number {
  const inv = Math.exp(-logScale);
  const plus = cdf(inv * (x - m + 1 / 255));
  const min = cdf(inv * (x - m - 1 / 255));
  if (x < -0.999) return Math.log(Math.max(plus, 1e-12));
  if (x > 0.999) return Math.log(Math.max(1 - min, 1e-12));
  return Math.log(Math.max(plus - min, 1e-12));
}
/** VB in bits/dim for one sample of n elements at timestep t, written from the paper's definitions. */
export function vbRef(betas: number[], t: number, x0: number[], xt: number[], eps: number[], v: number[]): number {
  const ab = (k: number): number => betas.slice(0, k + 1).reduce((p, b) => p * (1 - b), 1);
  const abPrev = t === 0 ? 1 : ab(t - 1);
  const beta = betas[t] as number;
  const postVar = (k: number): number => ((betas[k] as number) * (1 - (k === 0 ? 1 : ab(k - 1)))) / (1 - ab(k));
  const minLog = Math.log(t === 0 ? postVar(1) : postVar(t));
  const maxLog = Math.log(beta);
  let total = 0;
  for (let i = 0; i < x0.length; i++) {
    const mu = (a: number): number => ((beta * Math.sqrt(abPrev)) / (1 - ab(t))) * a + (((1 - abPrev) * Math.sqrt(1 - beta)) / (1 - ab(t))) * (xt[i] as number);
    const predX0 = (xt[i] as number) / Math.sqrt(ab(t)) - Math.sqrt(1 / ab(t) - 1) * (eps[i] as number);
    const f = ((v[i] as number) + 1) / 2;
    const logVar = f * maxLog + (1 - f) * minLog;
    total += t === 0 ? -discLogLik(x0[i] as number, mu(predX0), logVar / 2) : kl(mu(x0[i] as number), minLog, mu(predX0), logVar);
  }
  return total / x0.length / Math.LN2;
}
