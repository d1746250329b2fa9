// The progress line on stderr: step, loss, lr, throughput and ETA. On a TTY it is redrawn in place
// (carriage return + erase-line), at most ~10 times a second; elsewhere (CI logs, pipes) one full
// line is printed every few seconds so logs stay short but show the run is alive. WorkProgress is
// the same line for the other long jobs (init, inherit, export, sample): `done/total unit`, shown
// only once the work has taken ~2 s, so quick commands print nothing.

export interface ProgressInfo {
  /** Updates completed, and the total. */
  step: number;
  steps: number;
  loss: number;
  lr: number;
  /** Items (tokens, images) per second over this run so far, if the step function reports items. */
  itemsPerSec?: number;
  /** Unit of the items, e.g. 'tok' or 'img'. */
  unit: string;
  /** Seconds left, estimated from the mean time per step so far. */
  etaSec?: number;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** `step 120/2000  loss 3.4521  lr 3.00e-4  1.23k tok/s  ETA 4m12s` */
export function formatProgress(p: ProgressInfo): string {
  const parts = [`step ${p.step}/${p.steps}`, `loss ${formatLoss(p.loss)}`, `lr ${p.lr.toExponential(2)}`];
  if (p.itemsPerSec !== undefined) parts.push(`${formatCount(p.itemsPerSec)} ${p.unit}/s`);
  if (p.etaSec !== undefined) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  return parts.join('  ');
}

function formatLoss(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4);
}

/** 950 → "950", 1234 → "1.23k", 2.5e6 → "2.50M". */
export function formatCount(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(2)}k`;
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/** 42 → "42s", 252 → "4m12s", 3720 → "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressLineOptions {
  /** Minimum milliseconds between lines when not a TTY; default 5000. */
  intervalMs?: number;
  /** Minimum milliseconds between redraws on a TTY; default 100. */
  redrawMs?: number;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
}

export class ProgressLine {
  private last = -Infinity;
  private drawn = false;
  private lastText = '';
  private pending: string | undefined;
  private readonly intervalMs: number;
  private readonly redrawMs: number;
  private readonly now: () => number;

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    options: ProgressLineOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.redrawMs = options.redrawMs ?? 100;
    this.now = options.now ?? (() => performance.now());
  }

  /** Reports progress; prints only if enough time has passed since the last print. */
  update(info: ProgressInfo): void {
    this.updateText(formatProgress(info));
  }

  /** Reports progress already written as a line (WorkProgress's). */
  updateText(text: string): void {
    this.pending = text;
    const t = this.now();
    if (t - this.last < (this.stream.isTTY === true ? this.redrawMs : this.intervalMs)) return;
    this.last = t;
    this.print(text);
  }

  /** Prints the latest state if not yet shown and ends the line (call once at the end or on error). */
  finish(): void {
    if (this.pending !== undefined) this.print(this.pending);
    if (this.drawn && this.stream.isTTY === true) this.stream.write('\n');
    this.drawn = false;
  }

  /** Prints a message on its own line without garbling the in-place progress line. */
  log(message: string): void {
    if (this.drawn && this.stream.isTTY === true) this.stream.write('\r\x1b[K');
    this.stream.write(`${message}\n`);
    if (this.drawn && this.stream.isTTY === true) this.stream.write(this.lastText);
  }

  private print(text: string): void {
    this.pending = undefined;
    this.lastText = text;
    this.stream.write(this.stream.isTTY === true ? `\r${text}\x1b[K` : `${text}\n`);
    this.drawn = true;
  }
}

export interface WorkProgressOptions extends ProgressLineOptions {
  /** Milliseconds of work before the first line (default 2000): quick work prints nothing. */
  afterMs?: number;
}

/** The default wait before a job's progress line appears. */
export const PROGRESS_AFTER_MS = 2000;

/** `inherit: 12/48 tensors  3.2s  ETA 9s  layers.3.mlp.down_proj.weight` */
export function formatWork(label: string, done: number, total: number, unit: string, elapsedSec: number, detail?: string): string {
  const parts = [`${label}: ${done}/${total} ${unit}`, formatDuration(elapsedSec)];
  if (done > 0 && done < total) parts.push(`ETA ${formatDuration((elapsedSec * (total - done)) / done)}`);
  if (detail !== undefined) parts.push(detail.length > 60 ? `${detail.slice(0, 59)}…` : detail);
  return parts.join('  ');
}

/**
 * Progress of a job counted in units (tensors, sampler steps): silent for the first `afterMs`,
 * then the ProgressLine's rules — redrawn on a terminal, a line every few seconds elsewhere.
 */
export class WorkProgress {
  private readonly line: ProgressLine;
  private readonly now: () => number;
  private readonly start: number;
  private readonly afterMs: number;

  constructor(
    stream: ProgressStream,
    private readonly label: string,
    private readonly unit: string,
    options: WorkProgressOptions = {},
  ) {
    this.line = new ProgressLine(stream, options);
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
    this.afterMs = options.afterMs ?? PROGRESS_AFTER_MS;
  }

  /** `done` of `total` units finished; `detail` names the current one. */
  update(done: number, total: number, detail?: string): void {
    const ms = this.now() - this.start;
    if (ms < this.afterMs) return;
    this.line.updateText(formatWork(this.label, done, total, this.unit, ms / 1000, detail));
  }

  /** Prints a message on its own line without garbling the progress line. */
  log(message: string): void {
    this.line.log(message);
  }

  /** Shows the last state, if any line was shown, and ends the line. */
  finish(): void {
    this.line.finish();
  }
}
