// A language model small enough to train in a test run by `scion train`: four steps of 2×8 tokens
// from a text file `train.txt`, checkpoints every 2 steps (the run-folder and final-write tests).

import { llamaSpec } from '../../compiler/lower/helpers.ts';

export const TINY_RUN_SPEC = `
${llamaSpec('Tiny', 'vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = 8')}

train Tiny {
  data = text(path = "train.txt", seq = 8)
  loss = cross_entropy(logits, next(tokens))
  optimizer = adamw(lr = 1e-2)
  steps = 4
  batch = 2
  checkpoint = { every = 2, keep = 3 }
  seed = 5
}
`;
