// The one error boundary in cli/main.ts: what each kind of failure prints and its exit code.
// A command is replaced by one that throws what each case needs; file-system errors are made by
// real calls where the machine allows (ENOENT, EISDIR, ENOTDIR, ELOOP) and built by hand where it
// does not (a full disk, a permission the test's user may bypass).

import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandError, knownFailure } from '../../cli/failures.ts';
import { main } from '../../cli/main.ts';
import { UsageError } from '../../cli/io.ts';
import { SafetensorsError } from '../../runtime/weights/index.ts';
import { commandLineSpan, LowerError } from '../../grammar/eval/errors.ts';
import { captureIo } from './capture-io.ts';

const thrown: { error: unknown } = { error: undefined };
vi.mock('../../cli/commands/explain.ts', () => ({
  run: async () => {
    throw thrown.error;
  },
}));

async function explainThrowing(error: unknown): Promise<{ code: number; stderr: string }> {
  thrown.error = error;
  const io = captureIo(process.cwd());
  const code = await main(['explain', 'x.scion'], io);
  return { code, stderr: io.stderr };
}

/** The error a real call throws. */
function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const errno = (code: string, syscall: string, path?: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path === undefined ? {} : { path }) });

describe('the error boundary', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('prints a usage error as one line and exits 2', async () => {
    expect(await explainThrowing(new UsageError('--batch needs a number'))).toEqual({ code: 2, stderr: 'scion explain: --batch needs a number\n' });
  });

  it('prints a known failure as `scion <cmd>: <what>` and exits 1', async () => {
    expect(await explainThrowing(new CommandError("cannot write 'x': reason"))).toEqual({ code: 1, stderr: "scion explain: cannot write 'x': reason\n" });
    expect(await explainThrowing(new SafetensorsError('too-short', '/w.safetensors', 'file is 3 bytes'))).toEqual({
      code: 1,
      stderr: 'scion explain: /w.safetensors: file is 3 bytes\n',
    });
  });

  it('prints a lowering diagnostic as the checker renders it, without the prefix, and exits 1', async () => {
    const r = await explainThrowing(new LowerError('E0903', "no tap 'x' in model 'M'", commandLineSpan('--tap')));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^<command line: --tap>:1:1: error\[E0903\]: no tap 'x' in model 'M'\n/);
  });

  it('prints a bug as a summary and where to report it, without the stack', async () => {
    const r = await explainThrowing(new TypeError("Cannot read properties of undefined (reading 'shape')\nsecond line"));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "scion explain: internal error: TypeError: Cannot read properties of undefined (reading 'shape')\n" +
        "This is a bug in Scion: please report it on the project's issue tracker with the command line (run it again with SCION_DEBUG=1 for the stack).\n",
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // Not an Error at all.
    expect((await explainThrowing('a string')).stderr).toMatch(/^scion explain: internal error: a string\n/);
  });

  it('prints the stack of a bug under SCION_DEBUG=1', async () => {
    vi.stubEnv('SCION_DEBUG', '1');
    const r = await explainThrowing(new RangeError('index out of range'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^scion explain: internal error: RangeError: index out of range\nThis is a bug in Scion: .* with the command line and the stack below\.\nRangeError: index out of range\n\s+at /,
    );
  });
});

describe('file-system errors are known failures, named with the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scion-fs-'));
  writeFileSync(join(dir, 'file'), 'x');
  symlinkSync('loop', join(dir, 'loop'));
  const cases: [string, () => unknown, string][] = [
    ['ENOENT', () => errorOf(() => readFileSync(join(dir, 'nope'))), `'${dir}/nope' does not exist: check the path`],
    ['EISDIR', () => errorOf(() => writeFileSync(dir, 'x')), `'${dir}' is a directory where a file is expected: give a file's path`],
    ['EISDIR on a handle (no path)', () => errorOf(() => readFileSync(dir)), `a directory was given where a file is expected: give a file's path`],
    ['ENOTDIR', () => errorOf(() => readFileSync(join(dir, 'file', 'x'))), `'${dir}/file/x': a part of the path is not a directory: check the path`],
    [
      'ELOOP',
      () => errorOf(() => readFileSync(join(dir, 'loop'))),
      `'${dir}/loop': too many levels of symbolic links (a link loop): check the links on the path`,
    ],
    ['EACCES', () => errno('EACCES', 'open', '/root/x'), `'/root/x': permission denied: check the permissions of the file and its folder`],
    ['EPERM', () => errno('EPERM', 'unlink', '/x'), `'/x': operation not permitted: check the permissions of the file and its folder`],
    [
      'ENOSPC with a path',
      () => errno('ENOSPC', 'write', '/runs/a/model.safetensors'),
      `no space left on the device writing '/runs/a/model.safetensors': free some disk space and run again`,
    ],
    ['ENOSPC on a handle (no path)', () => errno('ENOSPC', 'write'), 'no space left on the device: free some disk space and run again'],
  ];
  for (const [name, make, says] of cases) {
    it(name, async () => {
      const error = make();
      expect((error as NodeJS.ErrnoException).code).toBe(name.split(' ')[0]);
      expect(knownFailure(error)).toBe(says);
      expect(await explainThrowing(error)).toEqual({ code: 1, stderr: `scion explain: ${says}\n` });
    });
  }

  it("a tensor too large for a typed array is the spec's sizes, not a bug", async () => {
    const error = errorOf(() => new Float32Array(1e12));
    expect(await explainThrowing(error)).toEqual({
      code: 1,
      stderr:
        "scion explain: a tensor is too large to allocate (Invalid typed array length: 1000000000000): reduce the model's sizes; `scion explain` lists each layer's parameters and memory\n",
    });
  });

  it('leaves other error codes to the bug report', () => {
    expect(knownFailure(errno('ECONNRESET', 'read'))).toBeUndefined();
    expect(knownFailure(new Error('plain'))).toBeUndefined();
  });
});
