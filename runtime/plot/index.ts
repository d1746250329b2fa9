// Public surface of runtime/plot: loss curves (SVG and PNG from one layout) and image grids.

import { layoutPlot, type PlotOptions, type Series } from './layout.ts';
import { encodePng, rasterizePlot } from './png.ts';
import { renderSvg } from './svg.ts';

export { layoutPlot, PALETTE, type PlotLayout, type PlotOptions, type Series } from './layout.ts';
export { imageGrid } from './image-grid.ts';

/**
 * Loss curves as an SVG document and a PNG of the same picture.
 *
 * @example
 * const { svg, png } = plotLosses([{ name: 'train', x: steps, y: losses },
 *   { name: 'validation', x: evalSteps, y: evalLosses, kind: 'validation' }], { title: 'tiny-lm', logY: true });
 */
export function plotLosses(series: readonly Series[], options: PlotOptions = {}): { svg: string; png: Buffer } {
  const layout = layoutPlot(series, options);
  const canvas = rasterizePlot(layout);
  return { svg: renderSvg(layout), png: encodePng(canvas.width, canvas.height, canvas.data) };
}

/**
 * The train-loss series and, when evaluations report a `loss`, the validation-loss series, from
 * metrics.jsonl records (runtime/train's MetricRecord).
 */
export function lossSeries(records: readonly { kind: string; step: number; loss?: unknown }[]): Series[] {
  const pick = (kind: string) => records.filter((r) => r.kind === kind && typeof r.loss === 'number');
  const train = pick('train');
  const evals = pick('eval');
  const out: Series[] = [{ name: 'train', x: train.map((r) => r.step), y: train.map((r) => r.loss as number) }];
  if (evals.length > 0) out.push({ name: 'validation', kind: 'validation', x: evals.map((r) => r.step), y: evals.map((r) => r.loss as number) });
  return out;
}
