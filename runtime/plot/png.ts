// PNG rendering of a PlotLayout: the same frame, grid, ticks, curves and legend as svg.ts,
// rasterized on a Canvas and encoded with pngjs.

import { PNG } from 'pngjs';
import type { PlotLayout } from './layout.ts';
import { Canvas, hexColor, type Rgb } from './raster.ts';
import { formatTick } from './scale.ts';

const INK: Rgb = [51, 51, 51];
const GRID: Rgb = [230, 230, 230];

export function rasterizePlot(l: PlotLayout): Canvas {
  const c = new Canvas(l.width, l.height);
  for (const t of l.xTicks) c.line(t.at, l.top, t.at, l.bottom, GRID);
  for (const t of l.yTicks) c.line(l.left, t.at, l.right, t.at, GRID);
  for (const s of l.series) {
    const color = hexColor(s.color);
    const dash = s.kind === 'validation' ? ([6, 4] as const) : undefined;
    for (let i = 1; i < s.points.length; i++) {
      const [x0, y0] = s.points[i - 1]!;
      const [x1, y1] = s.points[i]!;
      c.line(x0, y0, x1, y1, color, 2, dash);
    }
    if (s.kind === 'validation' || s.points.length === 1) for (const [x, y] of s.points) c.fillRect(x - 2, y - 2, 5, 5, color);
  }
  // Frame and ticks after the curves, so the axes stay crisp where a curve touches them.
  c.line(l.left, l.top, l.right, l.top, INK);
  c.line(l.left, l.bottom, l.right, l.bottom, INK);
  c.line(l.left, l.top, l.left, l.bottom, INK);
  c.line(l.right, l.top, l.right, l.bottom, INK);
  for (const t of l.xTicks) {
    c.line(t.at, l.bottom, t.at, l.bottom + 5, INK);
    c.text(formatTick(t.value), t.at, l.bottom + 10, INK, 2, 'center');
  }
  for (const t of l.yTicks) {
    c.line(l.left - 5, t.at, l.left, t.at, INK);
    c.text(formatTick(t.value), l.left - 9, t.at - 5, INK, 2, 'right');
  }
  if (l.title !== '') c.text(l.title, l.width / 2, 14, [17, 17, 17], 3, 'center');
  c.text(l.xLabel, (l.left + l.right) / 2, l.height - 20, INK, 2, 'center');
  c.text(l.yLabel, l.left, l.top - 14, INK, 2, 'left'); // no rotated text: the label sits above the axis
  const x = l.right - 150;
  c.fillRect(l.right - 158, l.top + 4, 150, 10 + 18 * l.series.length, [255, 255, 255]);
  l.series.forEach((s, i) => {
    const y = l.top + 18 + i * 18;
    c.line(x, y - 4, x + 24, y - 4, hexColor(s.color), 2, s.kind === 'validation' ? [6, 4] : undefined);
    c.text(s.name, x + 30, y - 9, INK, 2);
  });
  return c;
}

/** RGBA bytes [height, width, 4] → PNG file bytes. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}
