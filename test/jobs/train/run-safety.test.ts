// Runs that cannot corrupt each other (issue 19): the run folder's lock (a second run on the same
// --out is refused with the owner's pid, in-process and between two real processes; a stale lock
// of a dead process is taken over), --resume with no readable checkpoint stops instead of
// starting over, a hand-edited checkpoint step is refused, temp files a killed writer left are
// removed, and a kill -9 during the final model write never leaves summary.json without the model.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { LOCK_FILE } from '../../../runtime/train/index.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { TINY_RUN_SPEC } from './tiny-run.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SPEC = TINY_RUN_SPEC;
const SENTENCES = ['the cat sat on the mat.', 'a dog ran in the park.', 'the bird sang in the tree.', 'my friend read a book.'];

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scion-runsafety-'));
  writeFileSync(join(dir, 'tiny.scion'), SPEC);
  writeFileSync(join(dir, 'train.txt'), Array.from({ length: 120 }, (_, i) => SENTENCES[(i * 3) % 4]).join(' '));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function train(out: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir);
  const code = await main(['train', 'tiny.scion', '--out', out, '--device', 'reference', '--json', ...extra], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The pid of a process that has exited: nothing runs under it now (pids are not reused this fast). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function writeLock(out: string, lock: object | string): void {
  mkdirSync(join(dir, out), { recursive: true });
  writeFileSync(join(dir, out, LOCK_FILE), typeof lock === 'string' ? lock : JSON.stringify(lock));
}

describe('the run folder lock', () => {
  it('refuses a second run while a live process holds the folder, naming it, and writes nothing', async () => {
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    writeLock('held', { pid: sleeper.pid, host: hostname(), started: '2026-12-07T08:00:00.000Z', command: 'scion train' });
    const r = await train('held');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `scion train: the run folder '${join(dir, 'held')}' is in use by process ${sleeper.pid} (scion train, started 2026-12-07T08:00:00.000Z): wait for it to finish or stop it, or choose another --out (if that process is not a Scion run, delete ${join(dir, 'held', LOCK_FILE)})\n`,
    );
    expect(readdirSync(join(dir, 'held'))).toEqual([LOCK_FILE]);
    sleeper.kill('SIGKILL');
  });

  it('takes over the lock of a dead process, and of a half-written lock file, and releases it at the end', async () => {
    const pid = deadPid();
    writeLock('stale', { pid, host: hostname(), started: '2026-12-07T08:00:00.000Z', command: 'scion train' });
    const r = await train('stale');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`took over the run folder's lock from process ${pid}, which is no longer running`);
    expect(existsSync(join(dir, 'stale', LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, 'stale', 'model.safetensors'))).toBe(true);

    writeLock('torn', '{"pid": 12');
    expect((await train('torn')).code).toBe(0);
    expect(existsSync(join(dir, 'torn', LOCK_FILE))).toBe(false);
  }, 60_000);

  it('between two real processes: the second `scion train` on the same --out exits 1 naming the first', async () => {
    const first = spawn(process.execPath, [join(ROOT, 'bin/scion.mjs'), 'train', 'tiny.scion', '--out', 'race', '--device', 'reference', '--steps', '100000'], {
      cwd: dir,
      stdio: 'ignore',
    });
    children.push(first);
    const lock = join(dir, 'race', LOCK_FILE);
    const t0 = Date.now();
    while (!existsSync(lock) && Date.now() - t0 < 60_000 && first.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(lock)).toBe(true);
    const second = spawnSync(process.execPath, [join(ROOT, 'bin/scion.mjs'), 'train', 'tiny.scion', '--out', 'race', '--device', 'reference'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^scion train: the run folder '${join(dir, 'race')}' is in use by process ${first.pid} \\(scion train, started [-0-9T:.Z]+\\): wait for it to finish or stop it, or choose another --out \\(if that process is not a Scion run, delete ${join(dir, 'race', LOCK_FILE)}\\)\\n$`,
      ),
    );
    expect(second.stderr).not.toMatch(/^\s+at /m);
    // kill -9 the first: its lock is left behind, stale, and the next run takes it over.
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(existsSync(lock)).toBe(true);
    const third = await train('race', '--steps', '2');
    expect(third.code).toBe(0);
    expect(third.stderr).toContain(`took over the run folder's lock from process ${first.pid}`);
  }, 120_000);
});

/** The job logs its set-up first; the failure is the last line. */
const lastLine = (text: string): string => `${text.trimEnd().split('\n').at(-1)}\n`;

describe('--resume', () => {
  it('with no checkpoint at all stops and says so', async () => {
    const r = await train('fresh', '--resume');
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe(
      `scion train: --resume: there is no checkpoint in '${join(dir, 'fresh', 'checkpoints')}' to resume from: run without --resume to start over\n`,
    );
  });

  it('with every checkpoint damaged stops, names the newest reason and leaves the files as they were', async () => {
    expect((await train('damaged')).code).toBe(0);
    const ckpts = join(dir, 'damaged', 'checkpoints');
    const names = readdirSync(ckpts).sort();
    expect(names).toEqual(['step-00000002.safetensors', 'step-00000004.safetensors']);
    // The older one cut short, the newer one with a flipped byte at its end (tensor data).
    const older = join(ckpts, names[0]!);
    const newer = join(ckpts, names[1]!);
    writeFileSync(older, readFileSync(older).subarray(0, 100));
    const bytes = readFileSync(newer);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(newer, bytes);
    const before = names.map((n) => readFileSync(join(ckpts, n)));

    const summary = readFileSync(join(dir, 'damaged', 'summary.json'), 'utf8');
    const r = await train('damaged', '--resume');
    expect(r.code).toBe(1);
    // The finished run's summary is not lost to a resume that could not start.
    expect(readFileSync(join(dir, 'damaged', 'summary.json'), 'utf8')).toBe(summary);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(lastLine(r.stderr)).toBe(
      `scion train: --resume: none of the 2 checkpoints in '${ckpts}' is readable (newest: ${newer}: not a valid checkpoint: tensor data does not match its CRC-32): move them away and run without --resume to start over\n`,
    );
    expect(readdirSync(ckpts).sort()).toEqual(names);
    expect(names.map((n) => readFileSync(join(ckpts, n)))).toEqual(before);
  }, 60_000);
});

/** Sets a checkpoint's step to `step` by hand, in its state metadata only (tensors untouched). */
async function editStep(path: string, step: number): Promise<void> {
  const file = await openSafetensors(path);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of file.tensors) tensors.set(name, { dtype: 'F32', shape: t.shape, data: (await file.read(name)) as Float32Array });
  const meta = { ...file.metadata, state: file.metadata.state!.replace(/^\{"step":\d+,/, `{"step":${step},`) };
  await file.close();
  expect(meta.state).toContain(`{"step":${step},`);
  await writeSafetensors(path, tensors, meta);
}

describe('a checkpoint whose step was edited by hand', () => {
  it('is refused as damaged: --resume falls back to the one before, and stops when it was the only one', async () => {
    expect((await train('edited')).code).toBe(0);
    const ckpts = join(dir, 'edited', 'checkpoints');
    const newest = join(ckpts, 'step-00000004.safetensors');
    await editStep(newest, 34);
    const reason = `${newest}: not a valid checkpoint: the state metadata (step, optimizer counters, RNG, data position, metrics) does not match its CRC-32: it was edited or damaged`;
    const r = await train('edited', '--resume');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`skipping damaged checkpoint: ${reason}`);
    expect(r.stderr).toContain(`resuming from ${join(ckpts, 'step-00000002.safetensors')} (step 2)`);
    expect(JSON.parse(readFileSync(join(dir, 'edited', 'summary.json'), 'utf8'))).toMatchObject({ steps: 4 });

    // The resumed run rewrote step 4; edit every checkpoint now.
    for (const n of readdirSync(ckpts)) await editStep(join(ckpts, n), 34);
    const none = await train('edited', '--resume');
    expect(none.code).toBe(1);
    expect(lastLine(none.stderr)).toBe(
      `scion train: --resume: none of the 2 checkpoints in '${ckpts}' is readable (newest: ${reason}): move them away and run without --resume to start over\n`,
    );
  }, 60_000);
});

describe('files a killed writer left', () => {
  it('are removed by the next run, which holds the lock', async () => {
    mkdirSync(join(dir, 'temps'));
    writeFileSync(join(dir, 'temps', '.model.safetensors.99999-deadbeef.tmp'), 'half a model');
    writeFileSync(join(dir, 'temps', '.summary.json.99999-0badf00d.tmp'), '{"ste');
    const r = await train('temps');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('removed .model.safetensors.99999-deadbeef.tmp, left by an interrupted write');
    expect(readdirSync(join(dir, 'temps')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});

describe('kill -9 during the final model write', () => {
  it('never leaves a summary.json without its model, and the next run cleans up and finishes', async () => {
    // A model big enough (about 9 MB) that its write takes a while; one step.
    const big = SPEC.replace(
      'vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32',
      'vocab = 300, dim = 256, depth = 2, heads = 4, kv_heads = 2, ffn = 1024',
    )
      .replace('steps = 4', 'steps = 1')
      .replace('checkpoint = { every = 2, keep = 3 }', 'checkpoint = { every = 1, keep = 1 }');
    writeFileSync(join(dir, 'big.scion'), big);
    const out = join(dir, 'killed');
    mkdirSync(out);
    const child = spawn(process.execPath, [join(ROOT, 'bin/scion.mjs'), 'train', 'big.scion', '--out', 'killed', '--device', 'reference'], {
      cwd: dir,
      stdio: 'ignore',
    });
    children.push(child);
    let sawTemp = false;
    const watcher = watch(out, (_event, name) => {
      if (!sawTemp && name !== null && /^\.model\.safetensors\..*\.tmp$/.test(name)) {
        sawTemp = true;
        child.kill('SIGKILL');
      }
    });
    await new Promise((r) => child.once('exit', r));
    watcher.close();
    expect(sawTemp).toBe(true);
    // Wherever the kill landed: a summary.json only beside its model.
    if (existsSync(join(out, 'summary.json'))) expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, LOCK_FILE))).toBe(true);
    // Usually (every run here) the kill lands mid-write: the model's temp file is left behind.
    const leftTemp = readdirSync(out).some((n) => n.endsWith('.tmp'));

    const io = captureIo(dir);
    expect(await main(['train', 'big.scion', '--out', 'killed', '--device', 'reference', '--resume', '--json'], io)).toBe(0);
    expect(io.stderr).toContain(`took over the run folder's lock from process ${child.pid}`);
    if (leftTemp) expect(io.stderr).toMatch(/removed \.model\.safetensors\..*\.tmp, left by an interrupted write/);
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp') || n === LOCK_FILE)).toEqual([]);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ steps: 1 });
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  }, 120_000);
});
