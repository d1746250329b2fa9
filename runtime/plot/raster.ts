// A minimal RGBA canvas: filled rectangles, thick lines (a square brush stamped along a DDA walk,
// optionally dashed), and bitmap text. Enough to rasterize a PlotLayout without a native canvas.

import { GLYPH_H, GLYPH_W, glyph, textWidth } from './font.ts';

export type Rgb = readonly [number, number, number];

export class Canvas {
  /** [height, width, 4] RGBA bytes, row-major. */
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.data.set([background[0], background[1], background[2], 255], i * 4);
  }

  setPixel(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
    this.data[o + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = Math.round(y); j < Math.round(y + h); j++) for (let i = Math.round(x); i < Math.round(x + w); i++) this.setPixel(i, j, c);
  }

  /** A line `thickness` pixels wide; `dash` = [on, off] lengths in pixels for a dashed line. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, dash?: readonly [number, number]): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (thickness - 1) / 2;
    const len = Math.hypot(x1 - x0, y1 - y0);
    for (let k = 0; k <= steps; k++) {
      const t = k / steps;
      if (dash !== undefined && (t * len) % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = x0 + (x1 - x0) * t;
      const y = y0 + (y1 - y0) * t;
      if (r <= 0) this.setPixel(x, y, c);
      else this.fillRect(x - r, y - r, thickness, thickness, c);
    }
  }

  /** Draws text with its top-left corner at (x, y); `align` positions it around x. */
  text(text: string, x: number, y: number, c: Rgb, scale = 2, align: 'left' | 'center' | 'right' = 'left'): void {
    const w = textWidth(text, scale);
    let cx = Math.round(align === 'left' ? x : align === 'center' ? x - w / 2 : x - w);
    for (const ch of text) {
      const rows = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if ((rows[row]! >> (GLYPH_W - 1 - col)) & 1) this.fillRect(cx + col * scale, Math.round(y) + row * scale, scale, scale, c);
        }
      }
      cx += (GLYPH_W + 1) * scale;
    }
  }
}

/** '#1f77b4' → [31, 119, 180]. */
export function hexColor(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (m === null) throw new Error(`not a #rrggbb colour: '${hex}'`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}
