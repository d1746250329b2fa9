// One training step as one graph: forward, gradients (autodiff), optional global-norm clipping
// and the AdamW update of every trainable parameter, so the compiler fuses and schedules all of it together (the update of
// all parameters runs as one horizontally fused dispatch). Optimizer state and the step's
// scalars are graph inputs; the new params and moments are outputs carried over the old ones.
//
//   inputs:  <param>, adam.m:<param>, adam.v:<param>, adam.lr, adam.bc1 = 1−β1^t, adam.bc2 = 1−β2^t
//   outputs: loss, new:<param>, new:adam.m:<param>, new:adam.v:<param>
//
// The update is torch.optim.AdamW's (runtime/train/optimizers.ts is the CPU twin):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr/bc1)·m / (√v/√bc2 + eps)

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

export interface TrainStepGraph {
  graph: Graph;
  carry: { output: string; input: string }[];
  params: string[];
}

export const stateName = (kind: 'm' | 'v', param: string): string => `adam.${kind}:${param}`;
export const newName = (name: string): string => `new:${name}`;

export function buildTrainStep(fwd: Graph, loss: string, opts: AdamWGraphOptions = {}): TrainStepGraph {
  const [b1, b2] = opts.betas ?? [0.9, 0.999];
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 1e-2;
  const { builder: b, nodes } = GraphBuilder.from(fwd);
  const out = fwd.outputs.find((o) => o.name === loss) ?? fail(`no output named '${loss}'`);
  const params = b.nodes.filter((n) => n.op === 'param' && n.attrs['trainable'] === true);
  const raw = gradients(b, nodes[out.node] as Node, params);
  const clip = opts.clip ?? 0;
  let grads = raw;
  if (clip > 0 && raw.length > 0) {
    const sq = raw.map((g) => b.sum(b.mul(g, g)));
    const norm = b.sqrt(sq.slice(1).reduce((acc, x) => b.add(acc, x), sq[0] as Node));
    const coef = b.minimum(b.div(clip, b.add(norm, 1e-6)), 1);
    grads = raw.map((g) => b.mul(g, coef));
  }
  const lr = b.input('adam.lr', []);
  const bc1 = b.input('adam.bc1', []);
  const bc2 = b.input('adam.bc2', []);
  const stepSize = b.div(lr, bc1);
  const carry: { output: string; input: string }[] = [];
  params.forEach((p, k) => {
    const name = p.attrs['name'] as string;
    const g = grads[k] as Node;
    const m = b.input(stateName('m', name), p.shape);
    const v = b.input(stateName('v', name), p.shape);
    const m2 = b.add(b.mul(m, b1), b.mul(g, 1 - b1));
    const v2 = b.add(b.mul(v, b2), b.mul(b.mul(g, g), 1 - b2));
    const decayed = b.mul(p, b.sub(1, b.mul(lr, wd)));
    const denom = b.add(b.div(b.sqrt(v2), b.sqrt(bc2)), eps);
    const p2 = b.sub(decayed, b.mul(stepSize, b.div(m2, denom)));
    for (const [o, i] of [
      [p2, name],
      [m2, stateName('m', name)],
      [v2, stateName('v', name)],
    ] as const) {
      b.output(newName(i), o);
      carry.push({ output: newName(i), input: i });
    }
  });
  return { graph: b.build(), carry, params: params.map((p) => p.attrs['name'] as string) };
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
