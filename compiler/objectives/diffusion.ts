// The diffusion objective as graph compositions (DiT's `training_losses` with learn_sigma and
// loss_type MSE): q_sample, the ε-MSE, the learned-range variance and the variational-bound term
// (Gaussian KL at t > 0, discretized Gaussian NLL at t = 0), in bits per dimension. Schedule tables
// enter the graph as constants gathered per sample by t, so one graph serves every t in a batch.
//
// Example:
//   const s = linearSchedule(1000);
//   const { loss } = diffusionLoss(b, s, { eps, v, noise, xStart, xT, t });

import type { GraphBuilder } from '../ir/builder.ts';
import { mean } from '../ir/compose.ts';
import type { Node } from '../ir/graph.ts';
import type { DiffusionSchedule } from './diffusion-schedule.ts';

/** table[t] per sample, shaped [B, 1, …, 1] to broadcast over x [B, …]. t: [B] (i32 or integral f32). */
export function extract(b: GraphBuilder, table: Float64Array, t: Node, like: Node): Node {
  const idx = b.cast(t, 'i32');
  const values = b.constant(Array.from(table), [table.length]); // [T]
  const picked = b.gather(values, idx, 0); // [B]
  return b.reshape(picked, [like.shape[0] ?? 1, ...like.shape.slice(1).map(() => 1)]);
}

/** x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·noise. x0, noise [B, C, H, W]; t [B]. */
export function qSample(b: GraphBuilder, s: DiffusionSchedule, x0: Node, t: Node, noise: Node): Node {
  const sa = extract(b, s.alphasCumprod.map(Math.sqrt), t, x0);
  const sb = extract(
    b,
    s.alphasCumprod.map((a) => Math.sqrt(1 - a)),
    t,
    x0,
  );
  return b.add(b.mul(sa, x0), b.mul(sb, noise));
}

/** Mean over every axis but the batch: [B, …] → [B]. */
export function meanFlat(b: GraphBuilder, x: Node): Node {
  return x.shape.length <= 1
    ? x
    : mean(
        b,
        x,
        x.shape.slice(1).map((_d, i) => i + 1),
      );
}

/** Per-sample ε-MSE: mean_flat((noise − ε)²) → [B]. */
export function epsMse(b: GraphBuilder, eps: Node, noise: Node): Node {
  const d = b.sub(noise, eps);
  return meanFlat(b, b.mul(d, d));
}

/** log Σ = f·log β_t + (1 − f)·log β̃_t with f = (v + 1)/2. v [B, C, H, W] → log Σ, same shape. */
export function learnedRangeLogVariance(b: GraphBuilder, s: DiffusionSchedule, v: Node, t: Node): Node {
  const minLog = extract(b, s.posteriorLogVarianceClipped, t, v);
  const maxLog = extract(b, s.betas.map(Math.log), t, v);
  const frac = b.div(b.add(v, 1), 2);
  return b.add(b.mul(frac, maxLog), b.mul(b.sub(1, frac), minLog));
}

/** KL(N(m1, e^{lv1}) ‖ N(m2, e^{lv2})) elementwise, in nats. */
export function normalKl(b: GraphBuilder, mean1: Node, logvar1: Node, mean2: Node, logvar2: Node): Node {
  const d = b.sub(mean1, mean2);
  const terms = b.add(b.add(b.sub(b.sub(logvar2, logvar1), 1), b.exp(b.sub(logvar1, logvar2))), b.mul(b.mul(d, d), b.exp(b.neg(logvar2))));
  return b.mul(terms, 0.5);
}

/** Φ(x) ≈ ½·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function approxStandardNormalCdf(b: GraphBuilder, x: Node): Node {
  const inner = b.mul(b.add(x, b.mul(b.mul(b.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return b.mul(b.add(b.tanh(inner), 1), 0.5);
}

/**
 * log-likelihood of x ∈ [−1, 1] (8-bit data, bins of width 2/255) under N(means, e^{2·logScales})
 * discretized: the edge bins take the whole tails. Elementwise, in nats.
 */
export function discretizedGaussianLogLikelihood(b: GraphBuilder, x: Node, means: Node, logScales: Node): Node {
  const centered = b.sub(x, means);
  const invStdv = b.exp(b.neg(logScales));
  const cdfPlus = approxStandardNormalCdf(b, b.mul(invStdv, b.add(centered, 1 / 255)));
  const cdfMin = approxStandardNormalCdf(b, b.mul(invStdv, b.sub(centered, 1 / 255)));
  const logCdfPlus = b.log(b.maximum(cdfPlus, 1e-12));
  const logOneMinusCdfMin = b.log(b.maximum(b.sub(1, cdfMin), 1e-12));
  const logCdfDelta = b.log(b.maximum(b.sub(cdfPlus, cdfMin), 1e-12));
  return b.where(b.lt(x, -0.999), logCdfPlus, b.where(b.gt(x, 0.999), logOneMinusCdfMin, logCdfDelta));
}

export interface VbInputs {
  /** The model's ε prediction; the VB term sees it detached (only v learns from it). */
  eps: Node;
  /** The raw variance output v ∈ [−1, 1] (the second half of DiT's channels). */
  v: Node;
  xStart: Node;
  xT: Node;
  t: Node;
}

/**
 * The VB term on [ε.detach(), v], per sample in bits/dim → [B]: KL(q(x_{t−1}|x_t,x_0) ‖ p(x_{t−1}|x_t))
 * for t > 0, −log p(x_0|x_1) (discretized) for t = 0.
 */
export function vbTerm(b: GraphBuilder, s: DiffusionSchedule, inp: VbInputs): Node {
  const { v, xStart, xT, t } = inp;
  const eps = b.stopGradient(inp.eps);
  // True posterior q(x_{t−1} | x_t, x_0).
  const c1 = extract(b, s.posteriorMeanCoef1, t, xT);
  const c2 = extract(b, s.posteriorMeanCoef2, t, xT);
  const trueMean = b.add(b.mul(c1, xStart), b.mul(c2, xT));
  const trueLogVar = extract(b, s.posteriorLogVarianceClipped, t, xT);
  // Model p(x_{t−1} | x_t): x̂_0 from ε (no clipping in training), then the posterior mean of x̂_0.
  const recip = extract(
    b,
    s.alphasCumprod.map((a) => Math.sqrt(1 / a)),
    t,
    xT,
  );
  const recipm1 = extract(
    b,
    s.alphasCumprod.map((a) => Math.sqrt(1 / a - 1)),
    t,
    xT,
  );
  const predX0 = b.sub(b.mul(recip, xT), b.mul(recipm1, eps));
  const modelMean = b.add(b.mul(c1, predX0), b.mul(c2, xT));
  const modelLogVar = learnedRangeLogVariance(b, s, v, t);
  const kl = b.div(meanFlat(b, normalKl(b, trueMean, b.broadcastTo(trueLogVar, xT.shape), modelMean, modelLogVar)), Math.LN2); // [B]
  const nll = b.div(meanFlat(b, b.neg(discretizedGaussianLogLikelihood(b, xStart, modelMean, b.mul(modelLogVar, 0.5)))), Math.LN2); // [B]
  const first = b.eq(b.cast(t, 'i32'), 0); // [B]
  return b.where(first, nll, kl);
}

export interface DiffusionLossInputs {
  eps: Node;
  /** Absent for models that predict ε only (fixed variance): the loss is then the ε-MSE alone. */
  v?: Node;
  noise: Node;
  xStart: Node;
  xT: Node;
  t: Node;
}

/** mean over the batch of mse + vb (DiT: loss_type MSE, learn_sigma). Returns the parts too. */
export function diffusionLoss(b: GraphBuilder, s: DiffusionSchedule, inp: DiffusionLossInputs): { loss: Node; mse: Node; vb?: Node } {
  const mse = mean(b, epsMse(b, inp.eps, inp.noise));
  if (inp.v === undefined) return { loss: mse, mse };
  const vb = mean(b, vbTerm(b, s, { eps: inp.eps, v: inp.v, xStart: inp.xStart, xT: inp.xT, t: inp.t }));
  return { loss: b.add(mse, vb), mse, vb };
}
