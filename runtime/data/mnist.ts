// MNIST digits from the `mnist` package: `src/digits/<d>.json` holds `{data: number[]}`, the
// 28×28 images of digit d concatenated row-major, pixels already scaled to [0, 1] (10,000 images in
// all). We read those files directly (the package's own API samples with Math.random) and split
// by a hash of (digit, index), so every run and machine sees the same train/test images.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fnv1a } from './prng.ts';

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;

export type MnistSplit = 'train' | 'test';

export interface ImageSet {
  /** [count, height, width, channels] flattened row-major, values in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Name of each label index. */
  labelNames: string[];
}

/** ~90% train, ~10% test, from a hash of the image's digit and index within its digit file. */
export function mnistSplitOf(digit: number, index: number): MnistSplit {
  return fnv1a(`mnist:${digit}:${index}`) % 10 === 0 ? 'test' : 'train';
}

let raw: { digit: number; pixels: number[] }[] | undefined;

function readDigits(): { digit: number; pixels: number[] }[] {
  const require = createRequire(import.meta.url);
  return Array.from({ length: 10 }, (_, digit) => {
    const path = require.resolve(`mnist/src/digits/${digit}.json`);
    const { data } = JSON.parse(readFileSync(path, 'utf8')) as { data: number[] };
    if (!Array.isArray(data) || data.length % PIXELS !== 0) throw new Error(`${path}: expected a multiple of ${PIXELS} pixels`);
    return { digit, pixels: data };
  });
}

/**
 * The digits of one split (or all 10,000), ordered by digit then by index in the package.
 * Shuffle with a batcher; the order here is only the stable identity of each image.
 */
export function loadMnist(split?: MnistSplit): ImageSet {
  raw ??= readDigits();
  const picked: [number, number][] = []; // [digit, index]
  for (const { digit, pixels } of raw) {
    for (let i = 0; i < pixels.length / PIXELS; i++) {
      if (split === undefined || mnistSplitOf(digit, i) === split) picked.push([digit, i]);
    }
  }
  const images = new Float32Array(picked.length * PIXELS);
  const labels = new Int32Array(picked.length);
  picked.forEach(([digit, i], k) => {
    const source = raw![digit]!.pixels;
    for (let p = 0; p < PIXELS; p++) images[k * PIXELS + p] = source[i * PIXELS + p]!;
    labels[k] = digit;
  });
  return {
    images,
    labels,
    count: picked.length,
    height: MNIST_SIDE,
    width: MNIST_SIDE,
    channels: 1,
    labelNames: [...Array(10).keys()].map(String),
  };
}
