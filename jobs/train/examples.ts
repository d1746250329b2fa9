// Example sets for the non-language-model jobs: fixed-size examples with integer labels, addressed
// by index so batches (and multiple-round resampling) are lists of indices.
//   - images: mnist(split) and images(path), as [N, C, H, W] scaled from [0, 1] to [−1, 1] (the
//     range diffusion models are trained in; a classifier does not mind);
//   - genre windows: brown(task = "genre"), each document cut into non-overlapping ctx-token
//     windows labelled with the document's genre;
//   - language-model windows of a token stream (for multiple-round LM training).

import { loadBrown, loadMnist, readImageFolder, type BrownSplit, type ImageSet } from '../../runtime/data/index.ts';
import type { BpeTokenizer } from '../../runtime/tokenizer/index.ts';
import { JobError } from './errors.ts';
import type { DataSource } from './lm-data.ts';

export interface Examples {
  /** count × size values, row-major. */
  features: Float32Array | Int32Array;
  dtype: 'f32' | 'i32';
  /** The shape of one example, e.g. [1, 28, 28] or [ctx]. */
  shape: readonly number[];
  /** One class id per example (all 0 for unlabelled LM windows). */
  labels: Int32Array;
  count: number;
  labelNames: readonly string[];
}

export const exampleSize = (e: Pick<Examples, 'shape'>): number => e.shape.reduce((a, d) => a * d, 1);

/** The features of `indices`, stacked: [indices.length, ...shape]. */
export function gatherFeatures(e: Examples, indices: ArrayLike<number>): Float32Array | Int32Array {
  const size = exampleSize(e);
  const out = e.dtype === 'i32' ? new Int32Array(indices.length * size) : new Float32Array(indices.length * size);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r] as number;
    out.set(e.features.subarray(i * size, (i + 1) * size), r * size);
  }
  return out;
}

export function gatherLabels(e: Examples, indices: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: indices.length }, (_, r) => e.labels[indices[r] as number] as number);
}

/** ImageSet [N, H, W, C] in [0, 1] → Examples [N, C, H, W] in [−1, 1]. */
export function imageExamples(s: ImageSet): Examples {
  const { count, height: h, width: w, channels: c } = s;
  const features = new Float32Array(count * c * h * w);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          const v = s.images[((n * h + y) * w + x) * c + ch] as number;
          features[((n * c + ch) * h + y) * w + x] = 2 * v - 1;
        }
      }
    }
  }
  return { features, dtype: 'f32', shape: [c, h, w], labels: s.labels, count, labelNames: s.labelNames };
}

/** mnist has train and test; `val` reads test, the held-out ~10%. */
const MNIST_SPLIT: Readonly<Record<string, 'train' | 'test'>> = { train: 'train', test: 'test', val: 'test' };

/** The image examples of an image source (mnist, images). */
export async function imageSource(d: DataSource, cwd: string): Promise<Examples> {
  if (d.source === 'mnist') {
    const split = String(d.args['split'] ?? 'train');
    const s = MNIST_SPLIT[split];
    if (s === undefined) throw new JobError(`${d.where}: mnist has the splits train and test (val reads test), not "${split}"`);
    return imageExamples(loadMnist(s));
  }
  if (d.source === 'images') {
    const path = String(d.args['path']);
    return imageExamples(await readImageFolder(path.startsWith('/') ? path : `${cwd}/${path}`));
  }
  throw new JobError(`${d.where}: ${d.source}(…) holds no images; image models train on mnist(…) or images(…)`);
}

const BROWN_SPLITS: readonly BrownSplit[] = ['train', 'val', 'calib'];

/**
 * brown(task = "genre"): each document of the split tokenized and cut into non-overlapping windows
 * of `ctx` tokens (a short tail is dropped), each labelled with the document's genre id.
 */
export function genreExamples(d: DataSource, tokenizer: BpeTokenizer, ctx: number, genres: readonly string[]): Examples {
  const split = String(d.args['split'] ?? 'train');
  if (!BROWN_SPLITS.includes(split as BrownSplit)) throw new JobError(`${d.where}: brown has the splits ${BROWN_SPLITS.join(', ')}, not "${split}"`);
  const windows: Int32Array[] = [];
  const labels: number[] = [];
  for (const doc of loadBrown(split as BrownSplit)) {
    const ids = tokenizer.encode(doc.text);
    for (let w = 0; (w + 1) * ctx <= ids.length; w++) {
      windows.push(Int32Array.from(ids.slice(w * ctx, (w + 1) * ctx)));
      labels.push(doc.label);
    }
  }
  const features = new Int32Array(windows.length * ctx);
  windows.forEach((w, k) => features.set(w, k * ctx));
  return { features, dtype: 'i32', shape: [ctx], labels: Int32Array.from(labels), count: windows.length, labelNames: genres };
}

/**
 * Windows of `ctx` tokens over a stream, neighbours sharing one token (as LmBatcher: every token
 * is a next-token target once). Unlabelled.
 */
export function lmExamples(tokens: Int32Array, ctx: number): Examples {
  const count = Math.max(0, Math.floor((tokens.length - 1) / (ctx - 1)));
  const features = new Int32Array(count * ctx);
  for (let w = 0; w < count; w++) features.set(tokens.subarray(w * (ctx - 1), w * (ctx - 1) + ctx), w * ctx);
  return { features, dtype: 'i32', shape: [ctx], labels: new Int32Array(count), count, labelNames: [] };
}
