// The one writer of docs/results.md's table. Each script under bench/reproduce/ measures one claim
// and hands its outputs to writeRow, which replaces the row with the same id (or appends it) and
// leaves every other byte of the file as it was — so rerunning one script rewrites its row only,
// and no figure in the table is ever typed by hand (issue #17).

import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_PATH = fileURLToPath(new URL('../../docs/results.md', import.meta.url));

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

/** One measured claim, as its script saw it. */
export interface ResultRow {
  /** Stable key of the row, e.g. "pangu-inherit"; the first cell. */
  id: string;
  claim: string;
  /** The paper's number, with where it comes from. */
  paper: string;
  /** Scion's small-scale number with its spread (formatMeanSpread). */
  scion: string;
  verdict: Verdict;
  /** Why this verdict: what the numbers show, and what a small scale cannot. */
  why: string;
  /** The command that produced the row. */
  command: string;
  /** Wall-clock seconds the script took. */
  seconds: number;
  /** Where it ran, e.g. "CPU (ONNX Runtime), 2 cores shared". */
  device: string;
  /** Empty for a deterministic measurement (the cell says so). */
  seeds: readonly number[];
}

/** The columns, in order; the header line starts with `| id |`, which is how the table is found. */
export const COLUMNS = ['id', 'claim', 'paper', 'Scion (small scale)', 'verdict', 'command', 'run time', 'device', 'seeds'] as const;

const HEADER = `| ${COLUMNS.join(' | ')} |`;
const RULE = `|${COLUMNS.map(() => '---').join('|')}|`;

/** A file with an empty table, for a first write (docs/results.md normally exists). */
export const EMPTY_RESULTS = `# Results\n\n${HEADER}\n${RULE}\n`;

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** "1m 23s" or "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** The row as one markdown table line. */
export function renderRow(r: ResultRow): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(r.id)) throw new Error(`results row id '${r.id}' must be lower-case letters, digits and dashes`);
  const cells = [
    r.id,
    r.claim,
    r.paper,
    r.scion,
    `**${r.verdict}**: ${r.why}`,
    `\`${r.command}\``,
    formatDuration(r.seconds),
    r.device,
    r.seeds.length === 0 ? 'none (deterministic)' : r.seeds.join(', '),
  ];
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** The id (first cell) of a table line. */
function idOf(line: string): string {
  return line.slice(1).split('|')[0]?.trim() ?? '';
}

/**
 * `text` with the row of `row.id` replaced, or appended after the table's last row; every other
 * line, and the line endings, unchanged. A text without the table header is an error (the file is
 * not the results file).
 */
export function withRow(text: string, row: ResultRow): string {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.trimEnd() === HEADER);
  if (head < 0 || lines[head + 1]?.trimEnd() !== RULE) throw new Error(`no results table (a line '${HEADER}' followed by '${RULE}') found`);
  let end = head + 2; // one past the last row
  while (end < lines.length && (lines[end] as string).startsWith('|')) end++;
  const line = renderRow(row);
  const at = lines.slice(head + 2, end).findIndex((l) => idOf(l) === row.id);
  if (at >= 0) lines[head + 2 + at] = line;
  else lines.splice(end, 0, line);
  return lines.join('\n');
}

/**
 * Rewrites `row`'s line of the results file atomically (a temporary file renamed over it), under a
 * lock file beside it, so two scripts finishing together cannot each drop the other's row.
 */
export function writeRow(row: ResultRow, path: string = RESULTS_PATH, waitMs = 30_000): void {
  const lock = `${path}.lock`;
  const fd = acquire(lock, waitMs);
  try {
    const before = existsSync(path) ? readFileSync(path, 'utf8') : EMPTY_RESULTS;
    let after: string;
    try {
      after = withRow(before, row);
    } catch (error) {
      throw new Error(`${path}: ${(error as Error).message}`);
    }
    const tmp = join(dirname(path), `.results.${process.pid}.tmp`);
    writeFileSync(tmp, after);
    renameSync(tmp, path);
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

/** Creates `lock` exclusively, waiting up to `waitMs` for another writer to finish. */
function acquire(lock: string, waitMs: number): number {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline)
        throw new Error(`${lock} has been held for ${waitMs / 1000} s: another script is writing, or one died holding it (then delete it)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** Mean and sample standard deviation (0 for one value). */
export function meanSpread(values: readonly number[]): { mean: number; sd: number; n: number } {
  const n = values.length;
  if (n === 0) throw new RangeError('meanSpread of no values');
  const mean = values.reduce((a, v) => a + v, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

/** "3.412 ± 0.021 (sd, n = 3)". */
export function formatMeanSpread(values: readonly number[], digits = 3): string {
  const { mean, sd, n } = meanSpread(values);
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)} (sd, n = ${n})`;
}

/**
 * Wilson's 95% score interval for a proportion of `successes` in `n` trials: unlike the normal
 * approximation it stays inside [0, 1] and is honest near 0% and 100%, where judged accuracies of
 * a few hundred samples sit.
 */
export function binomialInterval(successes: number, n: number, z = 1.959964): { low: number; high: number } {
  if (!(Number.isInteger(successes) && Number.isInteger(n) && n > 0 && successes >= 0 && successes <= n))
    throw new RangeError(`binomialInterval: ${successes} successes of ${n} trials`);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 or n successes the interval ends at 0 or 1 exactly; rounding would leave 1 − 1e-16.
  return { low: successes === 0 ? 0 : centre - half, high: successes === n ? 1 : centre + half };
}

/** Student's t two-sided 95% quantiles (0.975) for 1–30 degrees of freedom, from the standard table. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom. A fractional df (Welch's) is
 * rounded down and a df past 30 read as 30: both widen the interval, never narrow it.
 */
export function t975(df: number): number {
  if (!(df >= 1)) throw new RangeError(`t975: ${df} degrees of freedom; an interval needs at least 2 values`);
  return T975[Math.min(Math.floor(df), T975.length) - 1] as number;
}

/** Mean and the half-width of its 95% t-interval over `values` (at least two). */
export function tInterval95(values: readonly number[]): { mean: number; half: number; n: number } {
  const { mean, sd, n } = meanSpread(values);
  return { mean, half: t975(n - 1) * (sd / Math.sqrt(n)), n };
}

/** mean(a) − mean(b) and its 95% interval (Welch: unequal variances, Welch–Satterthwaite df). */
export function welchInterval95(a: readonly number[], b: readonly number[]): { mean: number; low: number; high: number } {
  const x = meanSpread(a);
  const y = meanSpread(b);
  const va = x.sd ** 2 / x.n;
  const vb = y.sd ** 2 / y.n;
  const se = Math.sqrt(va + vb);
  const df = se === 0 ? x.n + y.n - 2 : (va + vb) ** 2 / (va ** 2 / (x.n - 1) + vb ** 2 / (y.n - 1));
  const mean = x.mean - y.mean;
  const half = t975(df) * se;
  return { mean, low: mean - half, high: mean + half };
}
