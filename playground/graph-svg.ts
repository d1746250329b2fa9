// A picture of a model's graph for the playground: its inputs, the lowered layers in order (the
// `explain` report's, so the picture and the table cannot disagree), and its outputs, one box per
// layer with its kind, output shape and parameter count; layers sharing an indexed path prefix
// (`layers.0.…`, from a `repeat`) are framed together. SVG text, drawn by the page.

import { human, type ModelReport } from '../compiler/explain.ts';
import { escapeXml } from '../runtime/plot/svg.ts';

const WIDTH = 380;
const BOX_H = 30;
const GAP = 20;
const PAD = 14;
/** Room above a block's first box for its frame's label. */
const FRAME_PAD = 15;

/** `layers.0` for `layers.0.self_attn`: the repeated block a layer belongs to, or '' for none. */
export function blockOf(path: string): string {
  const m = /^(.*\.\d+)\.[^.]+$/.exec(path) ?? /^(.*\[\d+\])\.[^.]+$/.exec(path);
  return m?.[1] ?? '';
}

interface Box {
  label: string;
  detail: string;
  kind: 'io' | 'layer';
  block: string;
}

export function layerGraphSvg(r: ModelReport): string {
  const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
  const boxes: Box[] = [
    ...r.inputs.map((i): Box => ({ label: `input ${i.name}`, detail: `${i.dtype}${shape(i.shape)}`, kind: 'io', block: '' })),
    ...r.layers.map(
      (l): Box => ({
        label: l.path,
        detail: `${l.callee} → ${shape(l.shape)}${l.params > 0 ? ` · ${human(l.params)} params` : ''}`,
        kind: 'layer',
        block: blockOf(l.path),
      }),
    ),
    ...r.outputs.map((o): Box => ({ label: `output ${o.name}`, detail: shape(o.shape), kind: 'io', block: '' })),
  ];
  const out: string[] = [];
  const y = (k: number) => PAD + 22 + k * (BOX_H + GAP);
  const height = y(boxes.length) + PAD;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`);
  out.push(
    `<text x="${WIDTH / 2}" y="${PAD + 8}" text-anchor="middle" font-size="13" fill="#111">${escapeXml(`${r.name}: ${human(r.params)} parameters`)}</text>`,
  );
  // Frames around each run of boxes of one block.
  for (let k = 0; k < boxes.length; ) {
    const block = boxes[k]?.block ?? '';
    let end = k;
    while (end + 1 < boxes.length && boxes[end + 1]?.block === block) end++;
    if (block !== '') {
      const top = y(k) - FRAME_PAD;
      out.push(
        `<rect x="${PAD}" y="${top}" width="${WIDTH - 2 * PAD}" height="${y(end) + BOX_H + 4 - top}" rx="6" fill="#f3f6fb" stroke="#9db3d6" stroke-dasharray="4 3"/>`,
        `<text x="${WIDTH - PAD - 6}" y="${top + 11}" text-anchor="end" font-size="10" fill="#5a6f94">${escapeXml(block)}</text>`,
      );
    }
    k = end + 1;
  }
  boxes.forEach((b, k) => {
    const left = PAD + 10;
    const w = WIDTH - 2 * PAD - 20;
    const fill = b.kind === 'io' ? '#fff4e0' : '#ffffff';
    const stroke = b.kind === 'io' ? '#d08c1a' : '#4a6fa5';
    if (k > 0) out.push(`<line x1="${WIDTH / 2}" y1="${y(k) - GAP}" x2="${WIDTH / 2}" y2="${y(k) - 2}" stroke="#666" marker-end="url(#arrow)"/>`);
    out.push(
      `<g class="layer"><rect x="${left}" y="${y(k)}" width="${w}" height="${BOX_H}" rx="4" fill="${fill}" stroke="${stroke}"/>`,
      `<text x="${left + 8}" y="${y(k) + 13}" font-size="11" fill="#111">${escapeXml(b.label)}</text>`,
      `<text x="${left + 8}" y="${y(k) + 25}" font-size="10" fill="#555">${escapeXml(b.detail)}</text></g>`,
    );
  });
  out.splice(
    1,
    0,
    '<defs><marker id="arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#666"/></marker></defs>',
  );
  out.push('</svg>');
  return out.join('\n');
}
