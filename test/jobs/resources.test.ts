// The memory and disk estimates of jobs/resources.ts (issue 19): byte counts of small specs computed
// by hand from their shapes, and the refusal against a fake machine (no test allocates gigabytes).

import { describe, expect, it } from 'vitest';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { checkResources, initEstimate, NotEnoughResources, type Estimate } from '../../jobs/resources.ts';
import { estimateTrain } from '../../jobs/train/train-job.ts';
import { parse } from '../compiler/lower/helpers.ts';

const LINEAR = 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 3)\n}\n';

// A student S (embedding 3×2, head 3×2) and a frozen teacher T (3×4, 3×4) at batch 2, ctx 3.
const DISTIL = `
model S(vocab = 3, dim = 2, ctx = 3) {
  input tokens: i32[batch, ctx]
  output logits = Linear(Embedding(tokens, vocab, dim) as embed, vocab, bias = false) as head
}
model T = S(dim = 4)
train S {
  data = brown(split = "train", seq = 3)
  teacher = T frozen
  loss = mse(logits, teacher.logits)
  optimizer = sgd(lr = 0.1, momentum = 0.9)
  ema = 0.99
  checkpoint = { every = 1, keep = 2 }
  batch = 2
}`;

describe('init', () => {
  it("counts a Linear(4 → 3)'s weight and bias: 15 values, 60 B in memory and on disk", () => {
    const e = initEstimate(lowerModel(parse(LINEAR), 'M'));
    expect(e).toEqual({ model: 'M', memory: [{ what: 'parameters', count: '15 × 4 B', bytes: 60 }], disk: [{ what: 'model', bytes: 60 }] });
  });

  it("adds the copies a preset's layout makes: GPT-2 stores its projections transposed, q, k and v as one c_attn", () => {
    const spec = `model G(vocab = 13, dim = 8, depth = 1, heads = 2, ctx = 4) preset gpt2 {
  input tokens: i32[batch, ctx]
  input positions: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as wte + Embedding(positions, ctx, dim) as wpe
  repeat i in 0..depth {
    h = h + Attention(LayerNorm(h) as h[i].ln_1, heads, causal = true, bias = true) as h[i].attn
    h = h + MLP(LayerNorm(h) as h[i].ln_2, dim * 4) as h[i].mlp
  }
  output logits = Linear(LayerNorm(h) as ln_f, vocab, bias = false) as lm_head
}`;
    const e = initEstimate(lowerModel(parse(spec), 'G'));
    // wte 13·8 + wpe 4·8 = 136; the block: ln_1 16, q/k/v 3·(64 + 8) = 216, o 64 + 8, ln_2 16,
    // fc1 8·32 + 32 = 288, fc2 32·8 + 8 = 264 → 872; ln_f 16; lm_head 8·13 = 104. 1,128 values.
    // Copied on the way out: c_attn's weight (192) and bias (24), c_proj 64, c_fc 256, mlp c_proj 256.
    expect(e.memory).toEqual([
      { what: 'parameters', count: '1,128 × 4 B', bytes: 4512 },
      { what: "the checkpoint layout's copies", bytes: 792 * 4 },
    ]);
    expect(e.disk).toEqual([{ what: 'model', bytes: 4512 }]);
  });
});

describe('train', () => {
  it('counts parameters, gradients, SGD momentum, EMA and the activations of one batch, by hand', () => {
    const e = estimateTrain(parse(DISTIL), 'S');
    // Parameters: student 6 + 6, teacher 12 + 12 = 36 values. Trainable: the student's 12.
    // Activations, every intermediate value of the forward graph at batch 2 (in values):
    //   student: gather [2,3,2] 12, head weight transposed [2,3] 6, matmul [2,3,3] 18
    //   teacher: gather [2,3,4] 24, transposed [4,3] 12, matmul [2,3,3] 18
    //   mse: difference 18, square 18, sum 1, mean 1                      → 128 values = 512 B
    expect(e.memory).toEqual([
      { what: 'parameters', count: '36 × 4 B', bytes: 144 },
      { what: 'gradients', bytes: 48 },
      { what: 'SGD momentum', bytes: 48 },
      { what: 'EMA', bytes: 48 },
      { what: 'activations (batch 2)', bytes: 512 },
    ]);
    // A checkpoint holds the 12 trainable values, their momentum and their EMA: 36 × 4 = 144 B;
    // keep = 2 plus the one written before the oldest goes.
    expect(e.disk).toEqual([
      { what: 'model', bytes: 48 },
      { what: 'EMA model', bytes: 48 },
      { what: '3 checkpoints', bytes: 432 },
    ]);
  });

  it('AdamW keeps two moments per trainable value; no EMA, no EMA model', () => {
    const adam = DISTIL.replace('sgd(lr = 0.1, momentum = 0.9)', 'adamw(lr = 1e-3)').replace('  ema = 0.99\n', '');
    const e = estimateTrain(parse(adam), 'S');
    expect(e.memory.map((p) => [p.what, p.bytes])).toEqual([
      ['parameters', 144],
      ['gradients', 48],
      ['AdamW moments', 96],
      ['activations (batch 2)', 512],
    ]);
    expect(e.disk).toEqual([
      { what: 'model', bytes: 48 },
      { what: '3 checkpoints', bytes: 3 * 12 * 3 * 4 },
    ]);
  });
});

describe('the refusal', () => {
  const e: Estimate = { model: 'M', memory: [{ what: 'parameters', count: '15 × 4 B', bytes: 60 }], disk: [{ what: 'model', bytes: 60 }] };
  const says = 'model M needs ~60 B of memory (parameters 15 × 4 B = 60 B) and ~60 B of disk (model 60 B)';

  it('passes when both fit, exactly at the limit too', () => {
    expect(checkResources(e, { memory: 60, disk: 60 }, 'out', false)).toEqual({
      fits: true,
      line: `${says}; this machine has 60 B free memory and 60 B free disk at out`,
    });
  });

  it('refuses too little memory or too little disk, naming both figures', () => {
    expect(() => checkResources(e, { memory: 59, disk: 2048 }, 'out', false)).toThrow(
      new NotEnoughResources(`${says}; this machine has 59 B free memory and 2.0 KiB free disk at out — pass --force to try anyway`),
    );
    expect(() => checkResources(e, { memory: 2 ** 31, disk: 59 }, 'out', false)).toThrow(NotEnoughResources);
  });

  it('--force goes on with a warning', () => {
    expect(checkResources(e, { memory: 59, disk: 59 }, 'out', true)).toEqual({
      fits: false,
      line: `${says}; this machine has 59 B free memory and 59 B free disk at out — trying anyway (--force)`,
    });
  });
});
