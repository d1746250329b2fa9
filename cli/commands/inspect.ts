// `scion inspect FILE.safetensors|INDEX.json [--json]`: the tensors (name, dtype, shape, bytes),
// the metadata and the totals of a checkpoint. Only the header is read, never the weights.

import { isAbsolute, resolve } from 'node:path';
import { command, commandSpec } from '../flags.ts';
import { EXIT } from '../io.ts';
import { elementCount, openSafetensors, SafetensorsError } from '../../runtime/weights/index.ts';

export interface InspectReport {
  tensors: { name: string; dtype: string; shape: number[]; bytes: number }[];
  metadata: Record<string, string>;
  totalBytes: number;
  params: number;
}

export const SPEC = commandSpec({
  name: 'inspect',
  about:
    'Lists the tensors (name, dtype, shape, bytes), the metadata and the totals of a checkpoint: FILE.safetensors or a sharded\nmodel.safetensors.index.json. Only the header is read, never the weights.',
  args: { name: 'CHECKPOINT', min: 1, max: 1 },
  flags: ['json'],
});

export const run = command(SPEC, async ({ flags: { json }, args: [file = ''] }, io) => {
  const path = isAbsolute(file) ? file : resolve(io.cwd, file);

  let report: InspectReport;
  try {
    report = await inspectCheckpoint(path);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    if (json) io.out(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
    else io.err(`scion inspect: ${error.message}\n`);
    return EXIT.inputError;
  }
  io.out(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.ok;
});

export async function inspectCheckpoint(path: string): Promise<InspectReport> {
  const ckpt = await openSafetensors(path);
  try {
    const tensors = [...ckpt.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape], bytes: t.byteLength }));
    return {
      tensors,
      metadata: ckpt.metadata,
      totalBytes: tensors.reduce((a, t) => a + t.bytes, 0),
      params: tensors.reduce((a, t) => a + elementCount(t.shape), 0),
    };
  } finally {
    await ckpt.close();
  }
}

export function formatReport(report: InspectReport): string {
  const rows = report.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, humanBytes(t.bytes)]);
  const head = ['name', 'dtype', 'shape', 'size'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const meta = Object.entries(report.metadata);
  if (meta.length > 0) {
    out.push('', 'metadata:');
    for (const [k, v] of meta) out.push(`  ${k}: ${v}`);
  }
  out.push(
    '',
    `${report.tensors.length} tensors, ${report.params.toLocaleString('en-US')} parameters, ${humanBytes(report.totalBytes)} (${report.totalBytes} bytes)`,
  );
  return `${out.join('\n')}\n`;
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
