// SVG rendering of a PlotLayout: frame, grid, ticks with labels, axis labels, title, one polyline
// per series (validation dashed with circle markers) and a legend in the top-right corner.

import type { PlotLayout } from './layout.ts';
import { formatTick } from './scale.ts';

const FONT = 'font-family="sans-serif" font-size="12" fill="#333"';

export function renderSvg(l: PlotLayout): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}">`);
  out.push(`<rect x="0" y="0" width="${l.width}" height="${l.height}" fill="#ffffff"/>`);
  if (l.title !== '')
    out.push(`<text x="${l.width / 2}" y="24" text-anchor="middle" font-family="sans-serif" font-size="16" fill="#111">${escapeXml(l.title)}</text>`);
  out.push('<g class="grid" stroke="#e6e6e6" stroke-width="1">');
  for (const t of l.xTicks) out.push(`<line x1="${n(t.at)}" y1="${l.top}" x2="${n(t.at)}" y2="${l.bottom}"/>`);
  for (const t of l.yTicks) out.push(`<line x1="${l.left}" y1="${n(t.at)}" x2="${l.right}" y2="${n(t.at)}"/>`);
  out.push('</g>');
  out.push(`<rect class="frame" x="${l.left}" y="${l.top}" width="${l.right - l.left}" height="${l.bottom - l.top}" fill="none" stroke="#333"/>`);
  out.push(`<g class="x-ticks" ${FONT} text-anchor="middle">`);
  for (const t of l.xTicks)
    out.push(
      `<line x1="${n(t.at)}" y1="${l.bottom}" x2="${n(t.at)}" y2="${l.bottom + 5}" stroke="#333"/><text x="${n(t.at)}" y="${l.bottom + 19}">${formatTick(t.value)}</text>`,
    );
  out.push('</g>');
  out.push(`<g class="y-ticks" ${FONT} text-anchor="end">`);
  for (const t of l.yTicks)
    out.push(
      `<line x1="${l.left - 5}" y1="${n(t.at)}" x2="${l.left}" y2="${n(t.at)}" stroke="#333"/><text x="${l.left - 8}" y="${n(t.at + 4)}">${formatTick(t.value)}</text>`,
    );
  out.push('</g>');
  out.push(`<text x="${(l.left + l.right) / 2}" y="${l.height - 12}" text-anchor="middle" ${FONT}>${escapeXml(l.xLabel)}</text>`);
  const cy = (l.top + l.bottom) / 2;
  out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})" ${FONT}>${escapeXml(l.yLabel)}</text>`);
  for (const s of l.series) {
    const dash = s.kind === 'validation' ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');
    out.push(`<polyline class="series" data-name="${escapeXml(s.name)}" points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    if (s.kind === 'validation') {
      out.push(`<g class="markers" fill="${s.color}">${s.points.map(([x, y]) => `<circle cx="${n(x)}" cy="${n(y)}" r="3"/>`).join('')}</g>`);
    }
  }
  out.push(legendSvg(l));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function legendSvg(l: PlotLayout): string {
  const rows = l.series.map((s, i) => {
    const y = l.top + 18 + i * 18;
    const x = l.right - 150;
    const dash = s.kind === 'validation' ? ' stroke-dasharray="6 4"' : '';
    return `<line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${dash}/><text x="${x + 30}" y="${y}" ${FONT}>${escapeXml(s.name)}</text>`;
  });
  const h = 10 + 18 * l.series.length;
  return `<g class="legend"><rect x="${l.right - 158}" y="${l.top + 4}" width="150" height="${h}" fill="#ffffff" fill-opacity="0.85" stroke="#bbb"/>${rows.join('')}</g>`;
}

/** Pixel coordinates with two decimals: small files, no visible rounding. */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
