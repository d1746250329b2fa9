// Sample grids: greyscale images (values in [0, 1]) tiled in rows of `cols`, each pixel scaled up
// `scale` times (nearest neighbour), with a 1-pixel-per-scale gap, as one PNG.

import { encodePng } from './png.ts';

/**
 * @param images H×W greyscale images, row-major, values in [0, 1] (clamped; NaN shows as red).
 * @param shape [H, W]; default square (√ of the first image's length).
 *
 * @example
 * writeFileSync('samples.png', imageGrid(samples, 8, 2, [28, 28]));
 */
export function imageGrid(images: readonly Float32Array[], cols: number, scale = 1, shape?: readonly [number, number]): Buffer {
  if (images.length === 0) throw new Error('imageGrid: no images');
  if (!Number.isInteger(cols) || cols < 1 || !Number.isInteger(scale) || scale < 1)
    throw new RangeError(`imageGrid: cols and scale must be positive integers (got ${cols}, ${scale})`);
  const side = Math.round(Math.sqrt(images[0]!.length));
  const [h, w] = shape ?? [side, side];
  images.forEach((im, i) => {
    if (im.length !== h * w) throw new Error(`imageGrid: image ${i} has ${im.length} values, expected ${h}×${w}`);
  });
  const rows = Math.ceil(images.length / cols);
  const gap = scale;
  const width = cols * w * scale + (cols + 1) * gap;
  const height = rows * h * scale + (rows + 1) * gap;
  const rgba = new Uint8Array(width * height * 4).fill(255); // white gaps
  images.forEach((im, k) => {
    const ox = gap + (k % cols) * (w * scale + gap);
    const oy = gap + Math.floor(k / cols) * (h * scale + gap);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const v = im[Math.floor(y / scale) * w + Math.floor(x / scale)]!;
        const o = ((oy + y) * width + ox + x) * 4;
        if (Number.isNaN(v)) rgba.set([255, 0, 0, 255], o);
        else rgba.fill(Math.round(Math.min(1, Math.max(0, v)) * 255), o, o + 3);
      }
    }
  });
  return encodePng(width, height, rgba);
}
