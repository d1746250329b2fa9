// The progress line on stderr: step, loss, lr, throughput and ETA. On a TTY it is redrawn in place
// (carriage return + erase-line), at most ~10 times a second; elsewhere (CI logs, pipes) one full
// line is printed every few seconds so logs stay short but show the run is alive.

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
  private pending: ProgressInfo | undefined;
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
    this.pending = info;
    const t = this.now();
    if (t - this.last < (this.stream.isTTY === true ? this.redrawMs : this.intervalMs)) return;
    this.last = t;
    this.print(info);
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

  private print(info: ProgressInfo): void {
    this.pending = undefined;
    const text = formatProgress(info);
    this.lastText = text;
    this.stream.write(this.stream.isTTY === true ? `\r${text}\x1b[K` : `${text}\n`);
    this.drawn = true;
  }
}
