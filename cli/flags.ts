// The values of the flags commands share, parsed one way: a bad value is a usage error (exit 2)
// that names the flag and repeats the command's usage line.

import { BACKEND_NAMES, isDeviceChoice, type DeviceChoice } from '../backends/registry.ts';
import { UsageError } from './io.ts';

/** The value of `--flag V`, consuming it; throws a usage error when V is missing. */
export function takeValue(args: string[], k: number, flag: string, usage: string): string {
  const v = args[k + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value\n${usage}`);
  return v;
}

export function positiveInt(text: string, flag: string, usage: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'\n${usage}`);
  return n;
}

/** `--device auto` or a backend's name (backends/registry.ts). */
export function parseDevice(v: string, usage: string): DeviceChoice {
  if (isDeviceChoice(v)) return v;
  throw new UsageError(`--device must be auto or one of ${BACKEND_NAMES.join(', ')}, got '${v}'\n${usage}`);
}

/** An integer >= 0 (`--seed`). */
export function nonNegativeInt(v: string, flag: string, usage: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} takes an integer >= 0, got '${v}'\n${usage}`);
  return n;
}
