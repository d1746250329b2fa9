// log_softmax, the one row primitive that is not a plain reduction: per row along `axis`,
// y = (x − m) − log Σ exp(x − m) with m the row's max, every step in f64 whatever the working
// type (the composite it replaces rounded after each of its five ops in an f32 run). A NaN in a
// row wins the max, as in reduce_max, so the whole row is NaN; a row of −∞ gives NaN (−∞ − −∞),
// as the composite and ONNX Runtime's LogSoftmax do.

import { around, in0, num, shapeOf, type CpuKernel } from './kernel.ts';

export const logSoftmaxKernel: CpuKernel = (c) => {
  const x = in0(c);
  const [outer, dim, inner] = around(shapeOf(c, 0), num(c.node, 'axis'));
  const out = c.alloc(x.length);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const base = o * dim * inner + r;
      let m = -Infinity;
      for (let j = 0; j < dim; j++) {
        const v = x[base + j * inner] as number;
        if (v > m || Number.isNaN(v)) m = v;
      }
      let s = 0;
      for (let j = 0; j < dim; j++) s += Math.exp((x[base + j * inner] as number) - m);
      const logS = Math.log(s);
      for (let j = 0; j < dim; j++) out[base + j * inner] = (x[base + j * inner] as number) - m - logS;
    }
  }
  return out;
};
