// One training step as one graph: forward, gradients (autodiff, or the ones the graph already
// outputs), optional global-norm clipping, the optimizer update (AdamW or SGD with momentum), an
// EMA of the parameters and gradient accumulation, so the compiler fuses and schedules all of it
// together (the update of all parameters runs as one horizontally fused dispatch). Optimizer state
// and the step's scalars are graph inputs; the new params and state are outputs carried over the
// old ones, so a backend that keeps carried state (WebGPU) never moves it between steps. This is
// the one step builder: `scion train` on WebGPU (jobs/train/resident.ts), `scion compile --train`,
// `scion export --train` and the train-step benchmark all build their step here.
//
//   inputs:  <param>, the optimizer's state and scalars (STEP_SCALARS), with `ema`: ema:<param> and
//            ema.decay, with `accumulate` > 1: acc:<param> and step.apply (1 on the last micro-batch)
//   outputs: loss (and the graph's other non-gradient outputs), new:<param>, new:<state>;
//            with `health`: grad_norm (before clipping) and nonfinite (0, or NaN when the loss, a
//            gradient or a new parameter is not finite: Σ x·0 is NaN exactly when some x is ±inf/NaN
//            in IEEE arithmetic; a driver with fast math may fold x·0 to 0, as lavapipe does, so
//            jobs also check the state they read back)
//
// The updates are torch's (runtime/train/optimizers.ts, gradients.ts and ema.ts are the CPU twins):
//   AdamW: p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr/bc1)·m / (√v/√bc2 + eps)
//   SGD:   d ← g + wd·p;  b ← μ·b + d (b starts at 0, so the first step's b = d as torch's);  p ← p − lr·b
//   EMA:   s ← d·s + (1−d)·p, d fed per step (the host's warm-up)
//   accumulation: acc ← acc + g on every micro-batch but the last; there g = (acc + g)/n is
//   applied and acc ← 0 (torch's mean of micro-batch gradients, summed in f32 here).

import { gradients } from './grad.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { crossEntropy } from '../ir/compose.ts';
import type { Graph, Node } from '../ir/graph.ts';

export interface AdamWGraphOptions {
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  /**
   * Max global gradient norm (torch.nn.utils.clip_grad_norm_: g·min(1, clip/(‖g‖ + 1e-6)), as
   * runtime/train/gradients.ts clips); absent or 0: no clipping (and the graph is as before).
   */
  clip?: number;
}

/** What buildTrainStep builds besides AdamW's plain step (every field off by default). */
export interface TrainStepOptions extends AdamWGraphOptions {
  /** 'adamw' (default) or 'sgd'; `weightDecay` is decoupled for AdamW, coupled (L2) for SGD, as torch's. */
  kind?: 'adamw' | 'sgd';
  /** SGD's momentum μ (default 0: no buffer). */
  momentum?: number;
  /** Gradient output of each trainable parameter already in the graph (lowerTrain's grad:<path>); absent: autodiff here. */
  grads?: ReadonlyMap<string, string>;
  /** Keep an EMA of the parameters (decay fed as `ema.decay`). */
  ema?: boolean;
  /** Micro-batches per update (default 1). */
  accumulate?: number;
  /** Output grad_norm and the nonfinite flag. */
  health?: boolean;
}

export interface TrainStepGraph {
  graph: Graph;
  carry: { output: string; input: string }[];
  params: string[];
  /** The per-parameter state inputs, by kind: `state.m[k]` is params[k]'s first moment, and so on. */
  state: { kind: StateKind; inputs: string[] }[];
  /** The scalar inputs fed every step. */
  scalars: string[];
}

/** Per-parameter state a step carries. */
export type StateKind = 'm' | 'v' | 'momentum' | 'ema' | 'acc';
const STATE_PREFIX: Record<StateKind, string> = { m: 'adam.m', v: 'adam.v', momentum: 'sgd.momentum', ema: 'ema', acc: 'acc' };

export const stateName = (kind: StateKind, param: string): string => `${STATE_PREFIX[kind]}:${param}`;
export const newName = (name: string): string => `new:${name}`;

/** Scalar inputs of a step, by what they are: one table, read by the builder and by whoever feeds it. */
export const STEP_SCALARS = {
  adamLr: 'adam.lr',
  /** 1 − β1^t */
  adamBc1: 'adam.bc1',
  /** 1 − β2^t */
  adamBc2: 'adam.bc2',
  sgdLr: 'sgd.lr',
  emaDecay: 'ema.decay',
  /** 1 on the micro-batch that applies the update, 0 on those that only accumulate. */
  apply: 'step.apply',
} as const;

export function buildTrainStep(fwd: Graph, loss: string, opts: TrainStepOptions = {}): TrainStepGraph {
  const kind = opts.kind ?? 'adamw';
  const accumulate = opts.accumulate ?? 1;
  if (!Number.isInteger(accumulate) || accumulate < 1) fail(`accumulate must be a positive integer, got ${accumulate}`);
  // The gradient outputs given are consumed here, not kept as outputs of the step.
  const gradOutputs = new Set(opts.grads?.values() ?? []);
  const { builder: b, nodes } = GraphBuilder.from({ nodes: fwd.nodes, outputs: fwd.outputs.filter((o) => !gradOutputs.has(o.name)) });
  const out = fwd.outputs.find((o) => o.name === loss) ?? fail(`no output named '${loss}'`);
  const lossNode = nodes[out.node] as Node;
  const byOutput = new Map(fwd.outputs.map((o) => [o.name, nodes[o.node] as Node]));
  let params: Node[];
  let raw: Node[];
  if (opts.grads === undefined) {
    params = b.nodes.filter((n) => n.op === 'param' && n.attrs['trainable'] === true);
    raw = gradients(b, lossNode, params);
  } else {
    const byName = new Map(b.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs['name'] as string, n]));
    params = [...opts.grads.keys()].map((p) => byName.get(p) ?? fail(`no parameter named '${p}'`));
    raw = [...opts.grads.values()].map((o) => byOutput.get(o) ?? fail(`no gradient output named '${o}'`));
  }
  const carry: { output: string; input: string }[] = [];
  const carried = (input: string, value: Node): void => {
    b.output(newName(input), value);
    carry.push({ output: newName(input), input });
  };
  const names = params.map((p) => p.attrs['name'] as string);
  const scalars: string[] = [];
  const scalar = (name: string): Node => {
    scalars.push(name);
    return b.input(name, []);
  };
  const stateKinds: StateKind[] = [];

  // Accumulation: the gradient applied is the mean over the update's micro-batches.
  const apply = accumulate > 1 ? b.gt(scalar(STEP_SCALARS.apply), 0.5) : undefined;
  let grads = raw;
  if (apply !== undefined) {
    stateKinds.push('acc');
    grads = raw.map((g, k) => {
      const acc = b.input(stateName('acc', names[k] as string), g.shape);
      const sum = b.add(acc, g);
      carried(stateName('acc', names[k] as string), b.where(apply, b.full(0, g.shape), sum));
      return b.div(sum, accumulate);
    });
  }
  const clip = opts.clip ?? 0;
  let normSq: Node | undefined;
  if ((clip > 0 || opts.health === true) && grads.length > 0) {
    const sq = grads.map((g) => b.sum(b.mul(g, g)));
    normSq = sq.slice(1).reduce((acc, x) => b.add(acc, x), sq[0] as Node);
  }
  if (clip > 0 && normSq !== undefined) {
    const coef = b.minimum(b.div(clip, b.add(b.sqrt(normSq), 1e-6)), 1);
    grads = grads.map((g) => b.mul(g, coef));
  }
  // Without accumulation every step applies; with it, state moves only where `apply` says so.
  const applied = (next: Node, old: Node): Node => (apply === undefined ? next : b.where(apply, next, old));
  const newParams: Node[] = [];
  if (kind === 'adamw') {
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    const eps = opts.eps ?? 1e-8;
    const wd = opts.weightDecay ?? 1e-2;
    const lr = scalar(STEP_SCALARS.adamLr);
    const bc1 = scalar(STEP_SCALARS.adamBc1);
    const bc2 = scalar(STEP_SCALARS.adamBc2);
    stateKinds.push('m', 'v');
    const stepSize = b.div(lr, bc1);
    params.forEach((p, k) => {
      const name = names[k] as string;
      const g = grads[k] as Node;
      const m = b.input(stateName('m', name), p.shape);
      const v = b.input(stateName('v', name), p.shape);
      const m2 = b.add(b.mul(m, b1), b.mul(g, 1 - b1));
      const v2 = b.add(b.mul(v, b2), b.mul(b.mul(g, g), 1 - b2));
      const decayed = b.mul(p, b.sub(1, b.mul(lr, wd)));
      const denom = b.add(b.div(b.sqrt(v2), b.sqrt(bc2)), eps);
      const p2 = applied(b.sub(decayed, b.mul(stepSize, b.div(m2, denom))), p);
      newParams.push(p2);
      carried(name, p2);
      carried(stateName('m', name), applied(m2, m));
      carried(stateName('v', name), applied(v2, v));
    });
  } else {
    const mu = opts.momentum ?? 0;
    const wd = opts.weightDecay ?? 0;
    const lr = scalar(STEP_SCALARS.sgdLr);
    if (mu > 0) stateKinds.push('momentum');
    params.forEach((p, k) => {
      const name = names[k] as string;
      const g = grads[k] as Node;
      const d = wd > 0 ? b.add(g, b.mul(p, wd)) : g;
      let step = d;
      if (mu > 0) {
        const buf = b.input(stateName('momentum', name), p.shape);
        step = b.add(b.mul(buf, mu), d);
        carried(stateName('momentum', name), applied(step, buf));
      }
      const p2 = applied(b.sub(p, b.mul(lr, step)), p);
      newParams.push(p2);
      carried(name, p2);
    });
  }
  if (opts.ema === true) {
    stateKinds.push('ema');
    const decay = scalar(STEP_SCALARS.emaDecay);
    params.forEach((p, k) => {
      const name = names[k] as string;
      const s = b.input(stateName('ema', name), p.shape);
      const p2 = newParams[k] as Node;
      carried(stateName('ema', name), applied(b.add(b.mul(s, decay), b.mul(p2, b.sub(1, decay))), s));
    });
  }
  if (opts.health === true) {
    b.output('grad_norm', normSq === undefined ? b.full(0, []) : b.sqrt(normSq));
    // x·0 is 0 for finite x and NaN for ±inf and NaN; the compiler does not fold it (simplify.ts).
    const zeros = [lossNode, ...(normSq === undefined ? [] : [normSq])].map((x) => b.mul(x, 0));
    for (const p of newParams) zeros.push(b.sum(b.mul(p, 0)));
    b.output(
      'nonfinite',
      zeros.slice(1).reduce((acc, x) => b.add(acc, x), zeros[0] as Node),
    );
  }
  const state = stateKinds.map((s) => ({ kind: s, inputs: names.map((n) => stateName(s, n)) }));
  return { graph: b.build(), carry, params: names, state, scalars };
}

function fail(msg: string): never {
  throw new Error(`buildTrainStep: ${msg}`);
}

/**
 * The loss `scion compile --train` and `scion export --train` use for a model without a `train`
 * declaration: the graph's own `loss` output where it has one, else next-token cross-entropy of
 * its first output against a new i32 input `labels` (-100 ignored).
 */
export function withLmLoss(g: Graph): Graph {
  if (g.outputs.some((o) => o.name === 'loss')) return g;
  const { builder: b, nodes } = GraphBuilder.from(g);
  const first = g.outputs[0] ?? fail('the model has no outputs to train');
  const logits = nodes[first.node] as Node;
  const labels = b.input('labels', logits.shape.slice(0, -1), 'i32');
  b.output('loss', crossEntropy(b, logits, labels, { ignoreIndex: -100 }));
  return b.build();
}
