// Hostile and careless inputs, second part (issue 19): a model too large for the machine's free
// memory or disk (init and train refuse before allocating, against a fake machine; --force goes
// on), attention scores too large for a typed array (E0511), two inherits into one folder (the
// run-folder lock), and temp files a killed writer left. Each case asserts the exact message,
// the exit code, that no stack trace is printed and what is (not) written.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { Available } from '../../jobs/resources.ts';
import { LOCK_FILE } from '../../runtime/train/index.ts';
import { LLAMA, PARENT } from '../jobs/inherit/helpers.ts';
import { TINY_RUN_SPEC } from '../jobs/train/tiny-run.ts';
import { captureIo } from './capture-io.ts';

/** Runs `scion ARGS` in `cwd` on a machine with `free` memory and disk (default: this one's). */
async function scion(cwd: string, args: string[], free?: Available): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(cwd);
  if (free !== undefined) io.machine = { available: () => free };
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('internal error');
}

/** The pid of a process that has exited: nothing runs under it now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const MODEL = 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 3)\n}\n';
const INHERIT = `${LLAMA('P', PARENT)}
model C = P(depth = 2, ffn = 8)
inherit C from P at "parent.safetensors" {
  layers = [0, 3]
  ffn = [1, 2, 3, 5, 8, 13, 21, 23]
}
`;
const KIB = { memory: 1024, disk: 1024 };

let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scion-resources-'));
  writeFileSync(join(dir, 'm.scion'), MODEL);
  writeFileSync(join(dir, 'tiny.scion'), TINY_RUN_SPEC);
  writeFileSync(join(dir, 'train.txt'), 'the cat sat on the mat. a dog ran in the park. '.repeat(40));
  writeFileSync(join(dir, 'inherit.scion'), INHERIT);
  const r = await scion(dir, ['init', 'inherit.scion', '--model', 'P', '-o', 'parent.safetensors']);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('a model larger than the free memory or disk', () => {
  const says = 'model M needs ~60 B of memory (parameters 15 × 4 B = 60 B) and ~60 B of disk (model 60 B)';

  it('init refuses before drawing a parameter, naming the figures: exit 1, one line, nothing written', async () => {
    mkdirSync(join(dir, 'small'));
    const r = await scion(dir, ['init', 'm.scion', '--model', 'M', '-o', 'small/m.safetensors'], { memory: 59, disk: 1 << 30 });
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `scion init: ${says}; this machine has 59 B free memory and 1.0 GiB free disk at small — pass --force to try anyway\n`,
    });
    expect(readdirSync(join(dir, 'small'))).toEqual([]);
    const disk = await scion(dir, ['init', 'm.scion', '--model', 'M', '-o', 'small/m.safetensors'], { memory: 1 << 30, disk: 59 });
    expect(disk.code).toBe(1);
    expect(disk.stderr).toBe(`scion init: ${says}; this machine has 1.0 GiB free memory and 59 B free disk at small — pass --force to try anyway\n`);
    expectNoStack(disk.stderr);
  });

  it('init --force goes on with a warning and writes the model', async () => {
    const r = await scion(dir, ['init', 'm.scion', '--model', 'M', '-o', 'small/m.safetensors', '--force'], { memory: 59, disk: 59 });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`scion init: warning: ${says}; this machine has 59 B free memory and 59 B free disk at small — trying anyway (--force)\n`);
    expect(r.stdout).toBe('small/m.safetensors: 2 tensors, 15 parameters (seed 0)\n');
    expect(existsSync(join(dir, 'small', 'm.safetensors'))).toBe(true);
  });

  it('train refuses before the run folder is made, naming the figures: exit 1, no stack', async () => {
    const r = await scion(dir, ['train', 'tiny.scion', '--out', 'refused', '--device', 'cpu'], KIB);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    // Activations: every value the step keeps, at batch 2. log_softmax is one op since 2026-12-07,
    // so the two [2, 8, 300] f32 intermediates of its old composite (37.5 KiB) and a few [2, 8, 1]
    // row values are gone: 151.5 → 113.7 KiB.
    expect(r.stderr).toBe(
      'scion train: model Tiny needs ~300.5 KiB of memory (parameters 11,952 × 4 B = 46.7 KiB, gradients 46.7 KiB, AdamW moments 93.4 KiB, ' +
        'activations (batch 2) 113.7 KiB) and ~606.9 KiB of disk (model 46.7 KiB, 4 checkpoints 560.3 KiB); ' +
        'this machine has 1.0 KiB free memory and 1.0 KiB free disk at refused — pass --force to try anyway\n',
    );
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });

  it('train --force runs anyway, and logs the estimate first', async () => {
    const r = await scion(dir, ['train', 'tiny.scion', '--out', 'forced', '--device', 'cpu', '--steps', '1', '--json', '--force'], KIB);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toMatch(/^model Tiny needs ~300\.5 KiB of memory .* at forced — trying anyway \(--force\)$/);
    expect(existsSync(join(dir, 'forced', 'model.safetensors'))).toBe(true);
  }, 60_000);
});

describe('attention scores too large for a typed array', () => {
  it('check reports E0511 at the Attention call, exit 1', async () => {
    writeFileSync(
      join(dir, 'long.scion'),
      'model Long(vocab = 256, dim = 64, heads = 8, ctx = 16384) {\n  input tokens: i32[batch, ctx]\n  h = Embedding(tokens, vocab, dim) as embed\n' +
        '  h = h + Attention(h, heads, causal = true) as attn\n  output logits = Linear(h, vocab) as head\n}\n',
    );
    const r = await scion(dir, ['check', 'long.scion']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('long.scion'))).toEqual([
      'long.scion:4:11: error[E0511]: an intermediate value (`matmul`) of shape [1, 8, 16384, 16384] has 2147483648 elements; the limit is 2^31 - 1 = 2147483647, the most a typed array is sure to hold',
    ]);
    expectNoStack(r.stderr);
  });
});

describe('inherit -o takes the run-folder lock', () => {
  const inherit = (out: string): Promise<{ code: number; stdout: string; stderr: string }> => scion(dir, ['inherit', 'inherit.scion', '-o', out, '--json']);
  const inUse = (out: string, pid: number, started: string, command = 'scion inherit'): string =>
    `scion inherit: the run folder '${join(dir, out)}' is in use by process ${pid} (${command}, started ${started}): ` +
    `wait for it to finish or stop it, or choose another --out (if that process is not a Scion run, delete ${join(dir, out, LOCK_FILE)})\n`;

  it('two concurrent inherits into one folder: one writes the child, the other is refused naming the pid', async () => {
    const [a, b] = await Promise.all([inherit('both'), inherit('both')]);
    const [won, lost] = a.code === 0 ? [a, b] : [b, a];
    expect(won.code).toBe(0);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(
      new RegExp(
        `^${inUse('both', process.pid, 'STARTED')
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace('STARTED', '[-0-9T:.Z]+')}$`,
      ),
    );
    expectNoStack(lost.stderr);
    expect(readdirSync(join(dir, 'both')).sort()).toEqual(['config.json', 'model.safetensors', 'provenance.json']);
  }, 60_000);

  it('a live process holding the folder: refused before any work, nothing written', async () => {
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    mkdirSync(join(dir, 'held'));
    const started = '2026-12-07T08:00:00.000Z';
    writeFileSync(join(dir, 'held', LOCK_FILE), JSON.stringify({ pid: sleeper.pid, host: hostname(), started, command: 'scion train' }));
    const r = await inherit('held');
    sleeper.kill('SIGKILL');
    expect(r).toEqual({ code: 1, stdout: '', stderr: inUse('held', sleeper.pid!, started, 'scion train') });
    expect(readdirSync(join(dir, 'held'))).toEqual([LOCK_FILE]);
  });

  it("a dead process's lock is taken over, and its temp files removed; a live writer's temp file stays", async () => {
    const pid = deadPid();
    mkdirSync(join(dir, 'stale'));
    writeFileSync(join(dir, 'stale', LOCK_FILE), JSON.stringify({ pid, host: hostname(), started: '2026-12-07T08:00:00.000Z', command: 'scion inherit' }));
    writeFileSync(join(dir, 'stale', `.model.safetensors.${pid}-deadbeef.tmp`), 'half a model');
    const live = `.notes.json.${process.pid}-0badf00d.tmp`;
    writeFileSync(join(dir, 'stale', live), '{"being": "written"}');
    const r = await scion(dir, ['inherit', 'inherit.scion', '-o', 'stale']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`took over the run folder's lock from process ${pid}, which is no longer running\n`);
    expect(r.stderr).toContain(`removed .model.safetensors.${pid}-deadbeef.tmp, left by an interrupted write\n`);
    expect(readdirSync(join(dir, 'stale')).sort()).toEqual([live, 'config.json', 'model.safetensors', 'provenance.json']);
  }, 60_000);
});

describe('temp files a killed writer left', () => {
  it("a write (here init's) removes its own file's temp files of dead processes, and leaves other files' and live ones'", async () => {
    mkdirSync(join(dir, 'temps'));
    const pid = deadPid();
    const mine = `.m.safetensors.${pid}-deadbeef.tmp`;
    const other = `.other.safetensors.${pid}-deadbeef.tmp`;
    const live = `.m.safetensors.${process.pid}-0badf00d.tmp`;
    for (const n of [mine, other, live]) writeFileSync(join(dir, 'temps', n), 'half');
    const r = await scion(dir, ['init', 'm.scion', '--model', 'M', '-o', 'temps/m.safetensors']);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'temps')).sort()).toEqual([live, other, 'm.safetensors'].sort());
  });
});
