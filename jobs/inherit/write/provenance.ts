// provenance.json: where every child tensor came from — the parent tensor, the indices kept on
// each axis and their scores, or the init it was drawn with — in checkpoint names and layouts, so
// `scion inherit --replay` applies the same selection to a sibling checkpoint without the spec.

import { readFile } from 'node:fs/promises';
import type { Init } from '../../../compiler/layers/init.ts';
import type { SafetensorsReader } from '../../../runtime/weights/index.ts';
import type { CheckpointSource, CheckpointTensorPlan, InitPart } from './checkpoint.ts';
import { InheritError } from '../layout/layout.ts';
import { resolveParentName } from './transfer.ts';

export const PROVENANCE_FORMAT = 'scion-provenance';
export const PROVENANCE_VERSION = 1;

export interface ProvenanceTensor {
  shape: number[];
  /** Parent tensor name (as read) and its shape, or absent for fresh tensors. */
  parent?: string;
  parentShape?: number[];
  parentFallbacks?: string[];
  /** Per axis: kept parent indices, or null for the whole axis. */
  keep?: (number[] | null)[];
  /** Per axis: the score of each kept index, or null where the axis was not scored. */
  scores?: (number[] | null)[];
  /** Fresh tensors: why, the seed, and the parts drawn (Scion paths, shapes, distributions). */
  init?: { reason: string; seed: number; axis: number; transpose: boolean; parts: { path: string; shape: number[]; init: Init }[] };
  /** Left out of the file because it is tied to another tensor (same values). */
  tiedTo?: string;
  /** PiSSA: the stored values are the inherited weight minus scale·B·A of this adapter (add it back for the parent's slice). */
  residualOf?: { adapter: string; scale: number };
}

export interface Provenance {
  format: typeof PROVENANCE_FORMAT;
  version: number;
  parent: { path: string; model?: string; preset?: string };
  child: { model?: string; preset?: string };
  /** Layer map (child j ← parent layers[j]) and vocabulary map (child id ← parent id), for people. */
  layers?: number[];
  vocab?: { size: number; coverage?: number; newToOld: number[] };
  tensors: Record<string, ProvenanceTensor>;
}

export function provenanceOf(
  plans: readonly CheckpointTensorPlan[],
  reader: SafetensorsReader,
  meta: Omit<Provenance, 'format' | 'version' | 'tensors'>,
  tied: ReadonlyMap<string, string> = new Map(),
): Provenance {
  const tensors: Record<string, ProvenanceTensor> = {};
  for (const t of plans) {
    const s = t.source;
    const entry: ProvenanceTensor = { shape: [...t.shape] };
    if (s.kind === 'parent') {
      const name = resolveParentName(t, reader) ?? s.parent;
      entry.parent = name;
      entry.parentShape = [...(reader.tensors.get(name)?.shape ?? [])];
      if (s.parentFallbacks.length > 0) entry.parentFallbacks = [...s.parentFallbacks];
      entry.keep = s.keep.map((k) => (k === null ? null : [...k]));
      if (s.scores.some((x) => x !== null)) entry.scores = s.scores.map((x) => (x === null ? null : x.map((v) => Number(v.toPrecision(7)))));
    } else {
      entry.init = {
        reason: s.reason,
        seed: s.seed,
        axis: s.axis,
        transpose: s.transpose,
        parts: s.parts.map((p) => ({ path: p.path, shape: [...p.shape], init: p.init })),
      };
    }
    const tie = tied.get(t.name);
    if (tie !== undefined) entry.tiedTo = tie;
    tensors[t.name] = entry;
  }
  return { format: PROVENANCE_FORMAT, version: PROVENANCE_VERSION, ...meta, tensors };
}

type J = unknown;
const isObj = (v: J): v is Record<string, J> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInts = (v: J): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);

/** Parses and validates provenance.json; every problem is named with its tensor. */
export function parseProvenance(text: string, file: string): { provenance: Provenance; plans: CheckpointTensorPlan[]; tied: Map<string, string> } {
  let root: J;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new InheritError([`${file}: not JSON: ${(error as Error).message.replaceAll('\n', '\\n')}`]);
  }
  if (!isObj(root) || root.format !== PROVENANCE_FORMAT)
    throw new InheritError([`${file}: not a Scion provenance file (expected "format": "${PROVENANCE_FORMAT}")`]);
  if (root.version !== PROVENANCE_VERSION)
    throw new InheritError([`${file}: provenance version ${JSON.stringify(root.version)} is not supported (expected ${PROVENANCE_VERSION})`]);
  if (!isObj(root.tensors)) throw new InheritError([`${file}: "tensors" must be an object`]);
  const problems: string[] = [];
  const plans: CheckpointTensorPlan[] = [];
  const tied = new Map<string, string>();
  for (const [name, raw] of Object.entries(root.tensors)) {
    const bad = (why: string) => problems.push(`${file}: tensor '${name}': ${why}`);
    if (!isObj(raw) || !isInts(raw.shape)) {
      bad('needs a "shape" list of non-negative integers');
      continue;
    }
    const shape = raw.shape;
    if (typeof raw.tiedTo === 'string') tied.set(name, raw.tiedTo);
    let source: CheckpointSource;
    if (typeof raw.parent === 'string') {
      const keep = raw.keep;
      if (!Array.isArray(keep) || keep.length !== shape.length || !keep.every((k, a) => k === null || (isInts(k) && k.length === shape[a]))) {
        bad('"keep" must list, per axis, null or exactly as many indices as the axis has');
        continue;
      }
      const fallbacks = Array.isArray(raw.parentFallbacks) ? raw.parentFallbacks.filter((x): x is string => typeof x === 'string') : [];
      source = { kind: 'parent', parent: raw.parent, parentFallbacks: fallbacks, keep: keep as (number[] | null)[], scores: shape.map(() => null) };
    } else if (isObj(raw.init) && Array.isArray(raw.init.parts) && Number.isSafeInteger(raw.init.seed) && Number.isSafeInteger(raw.init.axis)) {
      const parts: InitPart[] = [];
      for (const p of raw.init.parts) {
        if (
          !isObj(p) ||
          typeof p.path !== 'string' ||
          !isInts(p.shape) ||
          !isObj(p.init) ||
          !['zeros', 'ones', 'normal', 'uniform'].includes(p.init.dist as string)
        ) {
          bad('an init part needs "path", "shape" and an "init" distribution');
          continue;
        }
        parts.push({ path: p.path, shape: p.shape, init: p.init as unknown as Init });
      }
      source = {
        kind: 'init',
        reason: String(raw.init.reason ?? ''),
        seed: raw.init.seed as number,
        parts,
        axis: raw.init.axis as number,
        transpose: raw.init.transpose === true,
      };
    } else {
      bad('needs either "parent" with "keep", or "init"');
      continue;
    }
    plans.push({ name, shape, source });
  }
  if (problems.length > 0) throw new InheritError(problems);
  return { provenance: root as unknown as Provenance, plans, tied };
}

export async function readProvenance(path: string): Promise<ReturnType<typeof parseProvenance>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InheritError([`cannot read '${path}': ${(error as Error).message}`]);
  }
  return parseProvenance(text, path);
}
