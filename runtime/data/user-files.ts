// A user's own data: a text file or a folder of them (language modelling), JSONL with text and
// label fields (classification), or a folder of PNG images with one subfolder per label. Problems
// in the files are DataErrors that name the file (and line), for the CLI to print; never a crash.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import { readUtf8 } from '../text/utf8.ts';
import type { ImageSet } from './mnist.ts';

export class DataError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'DataError';
  }
}

async function statOrFail(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    throw new DataError(path, `cannot read: ${(error as Error).message}`);
  }
}

/** Files under `dir` (recursively) whose names pass `keep`, sorted by relative path. */
async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && keep(e.name)).map((e) => join(e.parentPath, e.name));
  return files.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}

/** One text file, or every `.txt`/`.md` file of a folder in path order, as documents. */
export async function readTextSource(path: string): Promise<{ name: string; text: string }[]> {
  const info = await statOrFail(path);
  const files = info.isDirectory() ? await listFiles(path, (n) => /\.(txt|md)$/i.test(n)) : [path];
  if (files.length === 0) throw new DataError(path, 'folder holds no .txt or .md files');
  return Promise.all(files.map(async (f) => ({ name: info.isDirectory() ? relative(path, f) : f, text: await readUtf8(f) })));
}

export interface LabelledTexts {
  texts: string[];
  /** Index into labelNames per text. */
  labels: Int32Array;
  /** Distinct labels, sorted (numbers numerically, strings by code unit). */
  labelNames: string[];
}

/** JSONL: one object per line with a string text field and a string or integer label field. */
export async function readJsonl(path: string, fields: { text?: string; label?: string } = {}): Promise<LabelledTexts> {
  const textField = fields.text ?? 'text';
  const labelField = fields.label ?? 'label';
  const lines = (await readUtf8(path)).split('\n');
  const rows: { text: string; label: string }[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DataError(at, `not JSON: ${(error as Error).message.replaceAll('\n', '\\n')}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataError(at, 'each line must be a JSON object');
    const record = value as Record<string, unknown>;
    const text = record[textField];
    const label = record[labelField];
    if (typeof text !== 'string') throw new DataError(at, `field '${textField}' must be a string`);
    if (typeof label !== 'string' && !Number.isInteger(label)) throw new DataError(at, `field '${labelField}' must be a string or an integer`);
    rows.push({ text, label: String(label) });
  });
  if (rows.length === 0) throw new DataError(path, 'holds no records');
  const labelNames = sortLabels([...new Set(rows.map((r) => r.label))]);
  const index = new Map(labelNames.map((l, i) => [l, i]));
  return { texts: rows.map((r) => r.text), labels: Int32Array.from(rows, (r) => index.get(r.label)!), labelNames };
}

function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => /^-?\d+$/.test(l));
  return labels.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A folder with one subfolder per label, each holding PNG images of one common size. Images are
 * read as grayscale (ITU-R 601 luma of RGB, alpha ignored) or RGB, scaled to [0, 1].
 */
export async function readImageFolder(path: string, options: { channels?: 1 | 3 } = {}): Promise<ImageSet> {
  const channels = options.channels ?? 1;
  if (!(await statOrFail(path)).isDirectory()) throw new DataError(path, 'must be a folder with one subfolder per label');
  const labelDirs = (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  const labelNames = sortLabels(labelDirs);
  const decoded: { pixels: Float32Array; label: number }[] = [];
  let size: { width: number; height: number; first: string } | undefined;
  for (const [label, name] of labelNames.entries()) {
    for (const file of await listFiles(join(path, name), (n) => /\.png$/i.test(n))) {
      let png: PNG;
      try {
        png = PNG.sync.read(await readFile(file));
      } catch (error) {
        throw new DataError(file, `is not a readable PNG: ${(error as Error).message}`);
      }
      size ??= { width: png.width, height: png.height, first: file };
      if (png.width !== size.width || png.height !== size.height) {
        throw new DataError(file, `is ${png.width}×${png.height}, but ${size.first} is ${size.width}×${size.height}; all images must share one size`);
      }
      decoded.push({ pixels: toFloat(png, channels), label });
    }
  }
  if (size === undefined) throw new DataError(path, 'holds no PNG images in label subfolders');
  const per = size.width * size.height * channels;
  const images = new Float32Array(decoded.length * per);
  decoded.forEach((d, i) => images.set(d.pixels, i * per));
  return {
    images,
    labels: Int32Array.from(decoded, (d) => d.label),
    count: decoded.length,
    height: size.height,
    width: size.width,
    channels,
    labelNames,
  };
}

/** pngjs always decodes to RGBA8 (`data` is [height, width, 4]). */
function toFloat(png: PNG, channels: 1 | 3): Float32Array {
  const n = png.width * png.height;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const r = png.data[4 * p]!;
    const g = png.data[4 * p + 1]!;
    const b = png.data[4 * p + 2]!;
    if (channels === 1) out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else {
      out[3 * p] = r / 255;
      out[3 * p + 1] = g / 255;
      out[3 * p + 2] = b / 255;
    }
  }
  return out;
}
