import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWN_GENRES, DataError, detokenize, loadBrown, loadMnist, readImageFolder, readJsonl, readTextSource, untag } from '../../../runtime/data/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Brown corpus', () => {
  const docs = loadBrown();

  it('has 500 files in 15 genres with the documented counts', () => {
    expect(docs.length).toBe(500);
    const perGenre = Object.fromEntries(BROWN_GENRES.map((g) => [g, docs.filter((d) => d.genre === g).length]));
    // The corpus manual's table: A 44, B 27, C 17, D 17, E 36, F 48, G 75, H 30, J 80, K 29, L 24, M 6, N 29, P 29, R 9.
    expect(perGenre).toEqual({
      news: 44,
      editorial: 27,
      reviews: 17,
      religion: 17,
      hobbies: 36,
      lore: 48,
      belles_lettres: 75,
      government: 30,
      learned: 80,
      fiction: 29,
      mystery: 24,
      science_fiction: 6,
      adventure: 29,
      romance: 29,
      humor: 9,
    });
    expect(docs.every((d) => BROWN_GENRES[d.label] === d.genre)).toBe(true);
  });

  it('restores plain text: the first sentence of ca01, with quotes and no tags', () => {
    expect(docs[0]!.id).toBe('ca01');
    expect(docs[0]!.text.split('\n')[0]).toBe(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    );
    // No part-of-speech tag survives: the commonest tags (article, noun, preposition, past verb,
    // adjective, conjunction) never follow a word and a slash ('and/or', 'mg/l' are real text).
    const tagged = docs.filter((d) => /[a-z]\/(at|nn|nns|np|in|vbd|jj|cc) /.test(d.text));
    expect(tagged.map((d) => d.id)).toEqual([]);
    // About a million words in all (the corpus is "1,014,312 words").
    const words = docs.reduce((n, d) => n + d.text.split(/\s+/).length, 0);
    expect(words).toBeGreaterThan(950_000);
    expect(words).toBeLessThan(1_100_000);
  });

  it('detokenizes punctuation spacing', () => {
    expect(detokenize(['He', 'said', ',', '``', 'yes', "''", '(', 'twice', ')', '.'])).toBe('He said, "yes" (twice).');
    expect(untag('\n\n\tA/at b/nn ./.\nC/np d/vb ;/. ;/.\n\n\n\tNext/ap para/nn ./.\n')).toBe('A b. C d;\nNext para.');
    expect(untag('\t1/2/cd cup/nn')).toBe('1/2 cup');
  });

  it('splits by file, deterministically, without overlap', () => {
    const split = (s: 'train' | 'val' | 'calib') => loadBrown(s).map((d) => d.id);
    const train = split('train');
    const val = split('val');
    const calib = split('calib');
    expect(train.length + val.length + calib.length).toBe(500);
    expect(new Set([...train, ...val, ...calib]).size).toBe(500);
    // Roughly 80/10/10.
    expect(train.length).toBeGreaterThan(370);
    expect(val.length).toBeGreaterThan(25);
    expect(calib.length).toBeGreaterThan(25);
    expect(split('train')).toEqual(train);
  });
});

describe('MNIST', () => {
  const all = loadMnist();

  it('has 10,000 28×28 digits with the per-digit counts of the package', () => {
    expect([all.count, all.height, all.width, all.channels]).toEqual([10_000, 28, 28, 1]);
    const perDigit = Array.from({ length: 10 }, (_, d) => all.labels.filter((l) => l === d).length);
    expect(perDigit).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of all.images) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect([lo, hi]).toEqual([0, 1]);
  });

  it('first image is a zero: ink in a ring, none in the centre or the corners', () => {
    const img = all.images.subarray(0, 784);
    const at = (r: number, c: number) => img[r * 28 + c]!;
    expect(all.labels[0]).toBe(0);
    expect([at(0, 0), at(0, 27), at(27, 0), at(27, 27)]).toEqual([0, 0, 0, 0]);
    let ink = 0;
    for (const v of img) ink += v;
    // A handwritten digit covers roughly 10–25% of the frame.
    expect(ink / 784).toBeGreaterThan(0.05);
    expect(ink / 784).toBeLessThan(0.3);
  });

  it('splits ~90/10 without overlap, deterministically', () => {
    const train = loadMnist('train');
    const test = loadMnist('test');
    expect(train.count + test.count).toBe(10_000);
    expect(test.count).toBeGreaterThan(850);
    expect(test.count).toBeLessThan(1150);
    // Compared as bytes: a deep-equality walk over 800k floats would dominate the test's time.
    expect(Buffer.compare(Buffer.from(loadMnist('test').images.buffer), Buffer.from(test.images.buffer))).toBe(0);
  });
});

describe('user files', () => {
  it('reads a text file or a folder of them in path order', async () => {
    await mkdir(join(dir, 'texts', 'sub'), { recursive: true });
    await writeFile(join(dir, 'texts', 'b.txt'), 'second');
    await writeFile(join(dir, 'texts', 'a.txt'), 'first');
    await writeFile(join(dir, 'texts', 'sub', 'c.md'), 'third');
    await writeFile(join(dir, 'texts', 'skip.bin'), 'x');
    expect(await readTextSource(join(dir, 'texts'))).toEqual([
      { name: 'a.txt', text: 'first' },
      { name: 'b.txt', text: 'second' },
      { name: join('sub', 'c.md'), text: 'third' },
    ]);
    await writeFile(join(dir, 'bad.txt'), new Uint8Array([0x61, 0x0a, 0x62, 0xff, 0xfe]));
    await expect(readTextSource(join(dir, 'bad.txt'))).rejects.toThrow(`${join(dir, 'bad.txt')}: invalid UTF-8 at byte 3 (line 2): save the file as UTF-8`);
  });

  it('reads JSONL with text and label fields, and names the bad line', async () => {
    const path = join(dir, 'd.jsonl');
    await writeFile(path, '{"text": "good", "label": "pos"}\n\n{"text": "bad", "label": "neg"}\n{"text": "ok", "label": "pos"}\n');
    expect(await readJsonl(path)).toEqual({ texts: ['good', 'bad', 'ok'], labels: new Int32Array([1, 0, 1]), labelNames: ['neg', 'pos'] });
    const custom = join(dir, 'c.jsonl');
    await writeFile(custom, '{"sentence": "a", "y": 10}\n{"sentence": "b", "y": 9}\n');
    expect((await readJsonl(custom, { text: 'sentence', label: 'y' })).labelNames).toEqual(['9', '10']);
    await writeFile(path, '{"text": "good", "label": 1}\n{"text": 5, "label": 1}\n');
    await expect(readJsonl(path)).rejects.toThrow(`${path}:2: field 'text' must be a string`);
    await writeFile(path, '{"text": "good", "label": 1}\n{oops\n');
    await expect(readJsonl(path)).rejects.toBeInstanceOf(DataError);
  });

  it('reads a PNG folder per label as grayscale in [0, 1]', async () => {
    const png = (w: number, h: number, rgb: [number, number, number]) => {
      const image = new PNG({ width: w, height: h });
      for (let p = 0; p < w * h; p++) image.data.set([...rgb, 255], 4 * p);
      return PNG.sync.write(image);
    };
    const root = join(dir, 'imgs');
    await mkdir(join(root, 'cat'), { recursive: true });
    await mkdir(join(root, 'dog'), { recursive: true });
    await writeFile(join(root, 'cat', '1.png'), png(2, 3, [255, 255, 255]));
    await writeFile(join(root, 'dog', '1.png'), png(2, 3, [255, 0, 0]));
    const set = await readImageFolder(root);
    expect([set.count, set.height, set.width, set.channels, set.labelNames]).toEqual([2, 3, 2, 1, ['cat', 'dog']]);
    expect([...set.labels]).toEqual([0, 1]);
    expect(set.images[0]).toBeCloseTo(1, 6); // white
    expect(set.images[6]).toBeCloseTo(0.299, 6); // pure red: luma weight of R
    await writeFile(join(root, 'dog', '2.png'), png(3, 3, [0, 0, 0]));
    await expect(readImageFolder(root)).rejects.toThrow('is 3×3, but');
  });
});
