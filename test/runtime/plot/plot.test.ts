import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { imageGrid, layoutPlot, lossSeries, plotLosses, type Series } from '../../../runtime/plot/index.ts';
import { formatTick, linearAxis, logAxis } from '../../../runtime/plot/scale.ts';

const steps = Array.from({ length: 50 }, (_, i) => i + 1);
const train: Series = { name: 'train', x: steps, y: steps.map((s) => 4 * Math.exp(-s / 15) + 0.5) };
const val: Series = { name: 'validation', kind: 'validation', x: [10, 20, 30, 40, 50], y: [2.1, 1.3, 0.95, 0.8, 0.72] };

describe('axes', () => {
  it('chooses nice linear ticks and decade log ticks', () => {
    // Range 0.5..4.3 with ~5 ticks → step 1 (3.8/5 = 0.76 → 1): 0, 1, 2, 3, 4, 5.
    expect(linearAxis(0.5, 4.3).ticks).toEqual([0, 1, 2, 3, 4, 5]);
    expect(linearAxis(1, 50, 6).ticks).toEqual([0, 10, 20, 30, 40, 50]);
    expect(logAxis(0.03, 400).ticks).toEqual([0.01, 0.1, 1, 10, 100, 1000]);
    expect(logAxis(0.5, 4.5).ticks).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect([0, 0.3, 2.5, 1e-4, 250000].map(formatTick)).toEqual(['0', '0.3', '2.5', '1e-4', '2.5e5']);
  });
});

describe('plotLosses', () => {
  it('writes an SVG with one polyline point per finite value, ticks, labels and a legend', () => {
    const withGap: Series = { ...train, y: Array.from(train.y, (v, i) => (i === 7 ? NaN : v)) };
    const { svg } = plotLosses([withGap, val], { title: 'tiny <lm>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // XML-ish well-formedness: every opened element is closed or self-closed, in order.
    const stack: string[] = [];
    for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
      else if (m[3] !== '/') stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
    const polylines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(polylines).toEqual([49, 5]); // the NaN point is skipped
    expect(svg).toContain('tiny &#60;lm&#62;');
    expect(svg).toContain('stroke-dasharray'); // validation dashed
    expect(svg.match(/<circle /g)?.length).toBe(5);
    expect(svg).toMatch(/<text[^>]*>validation<\/text>/);
    expect(svg).toMatch(/<text[^>]*>40<\/text>/); // an x tick label
  });

  it('places points by the scales: first and last train points at the expected pixels', () => {
    const l = layoutPlot([{ name: 'a', x: [0, 10], y: [0, 1] }], { width: 200, height: 100 });
    // Plot area: left 72, right 200 − 24 = 176, top 44, bottom 100 − 52 = 48; domain x 0..10, y 0..1.
    expect(l.series[0]!.points).toEqual([
      [72, 48],
      [176, 44],
    ]);
  });

  it('uses a log axis when asked, dropping values ≤ 0', () => {
    const l = layoutPlot([{ name: 'a', x: [1, 2, 3], y: [10, 0, 0.1] }], { logY: true });
    expect(l.series[0]!.points.length).toBe(2);
    expect(l.yTicks.map((t) => t.value)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    // 10 is at the top of the plot area, 0.1 at the bottom.
    expect(l.series[0]!.points[0]![1]).toBeCloseTo(l.top, 9);
    expect(l.series[0]!.points[1]![1]).toBeCloseTo(l.bottom, 9);
  });

  it('writes a PNG of the requested size with the curve drawn in its colour', () => {
    const { png } = plotLosses([train, val], { title: 'toy', width: 640, height: 400 });
    const img = PNG.sync.read(png);
    expect([img.width, img.height]).toEqual([640, 400]);
    const l = layoutPlot([train, val], { title: 'toy', width: 640, height: 400 });
    const at = (x: number, y: number) => [...img.data.subarray((Math.round(y) * 640 + Math.round(x)) * 4, (Math.round(y) * 640 + Math.round(x)) * 4 + 3)];
    // Every 5th train point (away from the legend box) is painted in the train colour #1f77b4.
    const legendLeft = l.right - 158;
    const checked = l.series[0]!.points.filter(([x, y], i) => i % 5 === 2 && !(x >= legendLeft && y <= l.top + 50));
    expect(checked.length).toBeGreaterThan(5);
    for (const [x, y] of checked) expect(at(x, y)).toEqual([0x1f, 0x77, 0xb4]);
    // The background far from everything stays white; the frame corner is ink.
    expect(at(l.left + 3, l.bottom - 3)).toEqual([255, 255, 255]);
    expect(at(l.left, l.bottom)).toEqual([51, 51, 51]);
  });
});

describe('lossSeries', () => {
  it('splits metrics.jsonl records into train and validation loss series', () => {
    const records = [
      { kind: 'train', step: 1, loss: 3 },
      { kind: 'train', step: 2, loss: 2.5 },
      { kind: 'eval', step: 2, loss: 2.8, acc: 0.1 },
      { kind: 'eval', step: 4, acc: 0.2 },
      { kind: 'train', step: 3, loss: 2 },
    ];
    expect(lossSeries(records)).toEqual([
      { name: 'train', x: [1, 2, 3], y: [3, 2.5, 2] },
      { name: 'validation', kind: 'validation', x: [2], y: [2.8] },
    ]);
  });
});

describe('imageGrid', () => {
  it('tiles H×W images with gaps and scaling', () => {
    // Three 2×2 images, 2 columns, scale 3: width 2·6 + 3·3 = 21, height 2·6 + 3·3 = 21.
    const images = [new Float32Array([0, 1, 1, 0]), new Float32Array([0.5, 0.5, 0.5, 0.5]), new Float32Array([1, 0, 1, 2])];
    const img = PNG.sync.read(imageGrid(images, 2, 3));
    expect([img.width, img.height]).toEqual([21, 21]);
    const grey = (x: number, y: number) => img.data[(y * 21 + x) * 4]!;
    expect(grey(3, 3)).toBe(0); // image 0, pixel (0, 0)
    expect(grey(6, 3)).toBe(255); // image 0, pixel (0, 1)
    expect(grey(12, 3)).toBe(128); // image 1 starts at x = 3 + 6 + 3 = 12
    // Image 2 sits in the second row (x from 3, y from 12): pixel (0, 1) = 0; pixel (1, 1) = 2 clamps to 1.
    expect(grey(7, 13)).toBe(0);
    expect(grey(7, 16)).toBe(255);
    expect(grey(0, 0)).toBe(255); // gap
    expect(grey(14, 17)).toBe(255); // the empty fourth cell stays white
  });
});
