// Time and memory bounds for large and hostile inputs (issue 19): `scion check` and `scion explain`
// on a 99k-layer `repeat` (just under the 100,000-statement unroll limit) and on a 100k one (refused
// with E0504), brackets and `repeat`s nested 10,000 deep (refused with E0106), a 10 MB spec of
// 60k models, and a YAML spec with 100k keys. Each case runs in its own process, so its peak RSS
// (the kernel's maxRSS) is its own; each prints its time, peak RSS and heap, what the command
// said, and PASS or FAIL against its bound. The bounds are what a user may wait for on a small
// machine (2 shared cores); a quadratic step would blow through them.
// Run alone with `npx tsx bench/large-inputs.ts [CASE...]`, or `scion bench large-inputs`.

import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { explainModel, formatReport } from '../compiler/explain.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import { sortDiagnostics } from '../grammar/diagnostics/render.ts';
import { deepSpec } from './explain-depth.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

interface Case {
  name: string;
  /** Builds the input (not timed). */
  input(): { text: string; file: string };
  /** The work timed; returns what the command would report, in one line. */
  work(text: string, file: string): string;
  bound: { ms: number; rssMiB: number };
}

/** The first error, or `clean`: what `scion check` would print first. */
function check(text: string, file: string): string {
  const r = checkSource(text, file, () => undefined);
  const first = sortDiagnostics(r.diagnostics.filter((d) => d.severity === 'error'))[0];
  return first === undefined ? 'clean' : `${first.code} at ${first.span.start.line}:${first.span.start.col}`;
}

function explain(model: string): (text: string, file: string) => string {
  return (text, file) => {
    const r = checkSource(text, file, () => undefined);
    if (r.diagnostics.some((d) => d.severity === 'error')) return 'refused by check';
    return `${formatReport(explainModel({ file, imports: [], decls: r.decls }, model)).split('\n').length} lines`;
  };
}

/** `n` brackets around `x`. */
const nested = (n: number): string => `model M {\n  input x: f32[2, 4]\n  output y = Linear(${'('.repeat(n)}x${')'.repeat(n)}, 3)\n}\n`;

/** `n` nested `repeat` blocks. */
function nestedRepeats(n: number): string {
  let text = 'model M {\n  input x: f32[2, 4]\n  h = x\n';
  for (let k = 0; k < n; k++) text += `repeat i${k} in 0..1 {\n`;
  return `${text}h = Linear(h, 4)\n${'}\n'.repeat(n)}  output y = h\n}\n`;
}

/** 10 MiB of small models, each distinct. */
function tenMegabytes(): string {
  const parts: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < 10 * 2 ** 20; i++) {
    const m = `model M${i}(dim = 16) {\n  input x: f32[batch, dim]\n  h = Linear(x, dim) as proj\n  h = h + SwiGLU(RMSNorm(h) as norm, 4 * dim) as mlp\n  output y = Linear(h, 3) as head\n}\n\n`;
    parts.push(m);
    bytes += m.length;
  }
  return parts.join('');
}

/** A `let` whose value is a map of 100k keys, in flow style (under the 1 MiB YAML limit). */
const yamlKeys = (n: number): string =>
  `scion: 1\ndecls:\n  - let: r\n    value: {${Array.from({ length: n }, (_, i) => `k${i.toString(36)}: ${i % 10}`).join(', ')}}\n`;

export const CASES: readonly Case[] = [
  { name: 'check-repeat-99k', input: () => ({ text: deepSpec(99_000), file: 'deep.scion' }), work: check, bound: { ms: 30_000, rssMiB: 600 } },
  { name: 'check-repeat-100k', input: () => ({ text: deepSpec(100_000), file: 'deep.scion' }), work: check, bound: { ms: 30_000, rssMiB: 600 } },
  { name: 'explain-repeat-99k', input: () => ({ text: deepSpec(99_000), file: 'deep.scion' }), work: explain('Deep'), bound: { ms: 300_000, rssMiB: 3072 } },
  { name: 'check-brackets-10k', input: () => ({ text: nested(10_000), file: 'nested.scion' }), work: check, bound: { ms: 5_000, rssMiB: 300 } },
  { name: 'check-repeats-10k', input: () => ({ text: nestedRepeats(10_000), file: 'repeats.scion' }), work: check, bound: { ms: 5_000, rssMiB: 300 } },
  { name: 'check-10mb', input: () => ({ text: tenMegabytes(), file: 'big.scion' }), work: check, bound: { ms: 60_000, rssMiB: 1024 } },
  { name: 'explain-10mb', input: () => ({ text: tenMegabytes(), file: 'big.scion' }), work: explain('M0'), bound: { ms: 60_000, rssMiB: 1024 } },
  { name: 'check-yaml-100k-keys', input: () => ({ text: yamlKeys(100_000), file: 'keys.yaml' }), work: check, bound: { ms: 30_000, rssMiB: 600 } },
];

interface Measured {
  ms: number;
  rssMiB: number;
  heapMiB: number;
  said: string;
}

/** Runs one case here (the child process's part). */
function measureHere(c: Case): Measured {
  const { text, file } = c.input();
  // Warm-up: the parser's grammar analysis and the JIT are paid once per process, not per input.
  check(deepSpec(10), 'warm.scion');
  const t0 = performance.now();
  const said = c.work(text, file);
  const ms = performance.now() - t0;
  return { ms, rssMiB: process.resourceUsage().maxRSS / 1024, heapMiB: process.memoryUsage().heapUsed / 2 ** 20, said };
}

/** Runs one case in a fresh process, so the peak RSS is the case's own. */
function measureApart(c: Case): Measured | string {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--case', c.name], {
    encoding: 'utf8',
    timeout: c.bound.ms * 3 + 60_000,
  });
  if (child.status !== 0) return `exit ${child.status ?? child.signal}: ${(child.stderr ?? '').trim().split('\n').at(-1) ?? ''}`;
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measured;
}

/** `check-10mb  8.1 s (bound 60 s)  293 MiB peak RSS (bound 1024)  heap 180 MiB  clean  PASS` */
function line(c: Case, m: Measured | string): string {
  if (typeof m === 'string') return `${c.name.padEnd(22)} FAIL (${m})`;
  const pass = m.ms <= c.bound.ms && m.rssMiB <= c.bound.rssMiB;
  return (
    `${c.name.padEnd(22)} ${(m.ms / 1000).toFixed(1).padStart(6)} s (bound ${c.bound.ms / 1000} s)  ` +
    `${m.rssMiB.toFixed(0).padStart(5)} MiB peak RSS (bound ${c.bound.rssMiB})  heap ${m.heapMiB.toFixed(0)} MiB  ${m.said}  ${pass ? 'PASS' : 'FAIL'}`
  );
}

export const benchmarks: Benchmark[] = [
  {
    name: 'large-inputs',
    description:
      'check and explain of a 99k/100k-layer repeat, 10k-deep nesting, a 10 MB spec, 100k YAML keys: time and peak RSS against bounds (PASS/FAIL; no peer)',
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      return CASES.map((c) => {
        const m = measureApart(c);
        ctx.log(line(c, m));
        return result(c.name, 'ms', typeof m === 'string' ? Number.NaN : m.ms, c.bound.ms, 'bound', false);
      });
    },
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--case');
  if (at >= 0) {
    const c = CASES.find((x) => x.name === process.argv[at + 1]);
    if (c === undefined) throw new Error(`no case ${process.argv[at + 1]}`);
    console.log(JSON.stringify(measureHere(c)));
  } else {
    const names = process.argv.slice(2);
    let failed = false;
    for (const c of CASES.filter((x) => names.length === 0 || names.includes(x.name))) {
      const text = line(c, measureApart(c));
      failed ||= text.endsWith('FAIL') || text.includes(' FAIL (');
      console.log(text);
    }
    process.exitCode = failed ? 1 : 0;
  }
}
