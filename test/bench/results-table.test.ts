// The row writer of docs/results.md (bench/reproduce/results-table.ts): a row with an existing id
// replaces that line only, a new id is appended after the table's last row, and every other byte
// of the file stays as it was.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binomialInterval,
  formatDuration,
  formatMeanSpread,
  meanSpread,
  renderRow,
  t975,
  tInterval95,
  welchInterval95,
  withRow,
  writeRow,
  type ResultRow,
} from '../../bench/reproduce/results-table.ts';

const row = (id: string, scion: string): ResultRow => ({
  id,
  claim: 'a claim',
  paper: '1.0',
  scion,
  verdict: 'inconclusive',
  why: 'too small',
  command: 'node --import tsx bench/reproduce/x.ts',
  seconds: 83,
  device: 'ONNX Runtime, 2 CPU cores',
  seeds: [1, 2, 3],
});

const HEAD = '| id | claim | paper | Scion (small scale) | verdict | command | run time | device | seeds |\n|---|---|---|---|---|---|---|---|---|\n';
const ROW_A = '| a | old a | p | s | v | c | 1s | d | 1 |\n';
const ROW_B = '| b | old b | p | s | v | c | 1s | d | 1 |\n';
// Prose before and after the table, a trailing space and CRLF-free text: all must survive.
const FILE = `# Results\n\nSome prose.  \n\n${HEAD}${ROW_A}${ROW_B}\nAfter the table | with a pipe.\n`;

describe('results rows', () => {
  it('renders one line with the hand-written cells', () => {
    expect(renderRow(row('pangu-inherit', '3.2 ± 0.1'))).toBe(
      '| pangu-inherit | a claim | 1.0 | 3.2 ± 0.1 | **inconclusive**: too small | `node --import tsx bench/reproduce/x.ts` | 1m 23s | ONNX Runtime, 2 CPU cores | 1, 2, 3 |',
    );
  });

  it('says a measurement without seeds is deterministic', () => {
    expect(renderRow({ ...row('x', 's'), seeds: [] }).endsWith('| none (deterministic) |')).toBe(true);
  });

  it('escapes pipes and folds newlines, so a cell cannot break the table', () => {
    const line = renderRow({ ...row('x', 'a | b'), why: 'one\n  two' });
    expect(line).toContain('a \\| b');
    expect(line).toContain('**inconclusive**: one two');
    expect(line.includes('\n')).toBe(false);
  });

  it('refuses an id that is not a plain key', () => {
    expect(() => renderRow(row('Has Space', 's'))).toThrow(/lower-case letters, digits and dashes/);
  });

  it('replaces the row with the same id and keeps every other byte', () => {
    const out = withRow(FILE, row('a', 'new'));
    const expected = FILE.replace(ROW_A, `${renderRow(row('a', 'new'))}\n`);
    expect(out).toBe(expected);
  });

  it('appends a new id after the last row, before the prose that follows', () => {
    const out = withRow(FILE, row('c', 'new'));
    expect(out).toBe(FILE.replace(ROW_B, `${ROW_B}${renderRow(row('c', 'new'))}\n`));
  });

  it('adds the first row to an empty table', () => {
    expect(withRow(`# R\n\n${HEAD}`, row('a', 's'))).toBe(`# R\n\n${HEAD}${renderRow(row('a', 's'))}\n`);
  });

  it('refuses a file without the table', () => {
    expect(() => withRow('# Results\n\nno table\n', row('a', 's'))).toThrow(/no results table/);
  });

  it('writes the file in place through a temporary file it does not leave behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'results-'));
    const path = join(dir, 'results.md');
    writeFileSync(path, FILE);
    writeRow(row('b', 'rewritten'), path);
    writeRow(row('b', 'twice'), path);
    expect(readFileSync(path, 'utf8')).toBe(FILE.replace(ROW_B, `${renderRow(row('b', 'twice'))}\n`));
    expect(readdirSync(dir)).toEqual(['results.md']);
  });

  it('gives up on a lock that is never released, naming it, and changes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'results-'));
    const path = join(dir, 'results.md');
    writeFileSync(path, FILE);
    writeFileSync(`${path}.lock`, '');
    // A lock left behind: after the wait (0.2 s here, 30 s by default) the writer gives up.
    const t0 = Date.now();
    expect(() => writeRow(row('a', 'x'), path, 200)).toThrow(/results\.md\.lock has been held for 0\.2 s/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(readFileSync(path, 'utf8')).toBe(FILE);
    expect(readdirSync(dir).sort()).toEqual(['results.md', 'results.md.lock']);
  });
});

describe('figures', () => {
  it('mean and sample standard deviation, by hand', () => {
    // 1, 2, 3, 6: mean 3; squared deviations 4 + 1 + 0 + 9 = 14; 14 / 3 → sd √(14/3).
    expect(meanSpread([1, 2, 3, 6])).toEqual({ mean: 3, sd: Math.sqrt(14 / 3), n: 4 });
    expect(meanSpread([5])).toEqual({ mean: 5, sd: 0, n: 1 });
    expect(formatMeanSpread([1, 2, 3, 6], 2)).toBe('3.00 ± 2.16 (sd, n = 4)');
    expect(() => meanSpread([])).toThrow(RangeError);
  });

  it('run times', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(60)).toBe('1m 00s');
    expect(formatDuration(3725)).toBe('62m 05s');
  });

  it("gives Wilson's 95% interval for a judged proportion", () => {
    // By hand: 8 of 10 → centre (0.8 + 1.96²/20)/(1 + 1.96²/10) = 0.7167, half-width
    // 1.96·√(0.016 + 1.96²/400)/1.3842 = 0.2266; 0 of 10 → [0, 2·0.1388].
    const a = binomialInterval(8, 10);
    expect(a.low).toBeCloseTo(0.4902, 4);
    expect(a.high).toBeCloseTo(0.9433, 4);
    const b = binomialInterval(0, 10);
    expect(b.low).toBe(0);
    expect(b.high).toBeCloseTo(0.2775, 4);
    const c = binomialInterval(10, 10);
    expect(c.low).toBeCloseTo(1 - b.high, 12);
    expect(c.high).toBe(1);
    expect(() => binomialInterval(11, 10)).toThrow(/11 successes of 10/);
  });
});

describe('95% intervals', () => {
  it("t's 0.975 quantile matches the closed forms at 1 and 2 degrees of freedom", () => {
    expect(t975(1)).toBeCloseTo(Math.tan(0.475 * Math.PI), 2); // Cauchy: tan(π(p − ½))
    expect(t975(2)).toBeCloseTo(0.95 / Math.sqrt(2 * 0.975 * 0.025), 3); // (2p − 1)/√(2p(1 − p))
    expect(t975(4.9)).toBe(t975(4)); // fractional df rounds down (wider)
    expect(t975(100)).toBe(t975(30));
    expect(() => t975(0)).toThrow(/at least 2 values/);
  });

  it('a t-interval is t(n−1)·sd/√n around the mean', () => {
    const r = tInterval95([1, 2, 3]); // mean 2, sd 1
    expect(r.mean).toBe(2);
    expect(r.half).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 12);
  });

  it("Welch's interval uses the Welch–Satterthwaite degrees of freedom", () => {
    // Equal variances 1 over 3 values each: se = √(2/3), df = (2/3)² / (2·(1/3)²/2) = 4.
    const r = welchInterval95([1, 2, 3], [2, 3, 4]);
    expect(r.mean).toBe(-1);
    expect(r.high - r.mean).toBeCloseTo(2.776 * Math.sqrt(2 / 3), 12);
    expect(r.mean - r.low).toBeCloseTo(2.776 * Math.sqrt(2 / 3), 12);
  });
});
