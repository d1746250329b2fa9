// Geometry of a loss plot, computed once and drawn by both renderers (svg.ts, png.ts), so the SVG
// and the PNG show the same axes, ticks and curves.

import { fractionOf, linearAxis, logAxis, type Axis } from './scale.ts';

export interface Series {
  name: string;
  /** Steps (x) and values (y), same length; non-finite points (and y ≤ 0 on a log axis) are skipped. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Validation series are drawn dashed with point markers; default 'train'. */
  kind?: 'train' | 'validation';
  /** CSS hex colour, e.g. '#1f77b4'; default from the palette. */
  color?: string;
}

export interface PlotOptions {
  title?: string;
  /** Log-scale y axis. */
  logY?: boolean;
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
}

export interface PlacedSeries {
  name: string;
  kind: 'train' | 'validation';
  color: string;
  /** Pixel coordinates of the kept points. */
  points: [number, number][];
}

export interface PlotLayout {
  width: number;
  height: number;
  title: string;
  xLabel: string;
  yLabel: string;
  /** The plotting rectangle in pixels. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  xTicks: { at: number; value: number }[];
  yTicks: { at: number; value: number }[];
  series: PlacedSeries[];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const MARGIN = { left: 72, right: 24, top: 44, bottom: 52 };

export function layoutPlot(series: readonly Series[], options: PlotOptions = {}): PlotLayout {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const logY = options.logY === true;
  const kept = series.map((s) => {
    if (s.x.length !== s.y.length) throw new Error(`series '${s.name}' has ${s.x.length} x values and ${s.y.length} y values`);
    const pts: [number, number][] = [];
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) pts.push([x, y]);
    }
    return pts;
  });
  const all = kept.flat();
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const minOf = (v: number[], d: number) => (v.length === 0 ? d : v.reduce((a, b) => Math.min(a, b)));
  const maxOf = (v: number[], d: number) => (v.length === 0 ? d : v.reduce((a, b) => Math.max(a, b)));
  const xAxis = linearAxis(minOf(xs, 0), maxOf(xs, 1), 6);
  const yAxis: Axis = logY ? logAxis(minOf(ys, 1), maxOf(ys, 10)) : linearAxis(minOf(ys, 0), maxOf(ys, 1), 5);
  const left = MARGIN.left;
  const top = MARGIN.top;
  const right = width - MARGIN.right;
  const bottom = height - MARGIN.bottom;
  const px = (x: number) => left + fractionOf(xAxis, x) * (right - left);
  const py = (y: number) => bottom - fractionOf(yAxis, y) * (bottom - top);
  return {
    width,
    height,
    left,
    top,
    right,
    bottom,
    title: options.title ?? '',
    xLabel: options.xLabel ?? 'step',
    yLabel: options.yLabel ?? (logY ? 'loss (log)' : 'loss'),
    xTicks: xAxis.ticks.map((value) => ({ at: px(value), value })),
    yTicks: yAxis.ticks.map((value) => ({ at: py(value), value })),
    series: series.map((s, i) => ({
      name: s.name,
      kind: s.kind ?? 'train',
      color: s.color ?? PALETTE[i % PALETTE.length]!,
      points: kept[i]!.map(([x, y]): [number, number] => [px(x), py(y)]),
    })),
  };
}
