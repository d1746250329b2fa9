// Hostile and careless inputs (issue 19): malformed or unreadable weights for every command that
// reads weights, outputs into a missing folder or onto a directory, unknown paths, a command's
// output onto its own input. Each case asserts the exact one-line message and the exit code, and
// that no stack trace is printed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { decodeUtf8 } from '../../runtime/text/utf8.ts';
import { writeSafetensors } from '../../runtime/weights/index.ts';
import { captureIo } from './capture-io.ts';
import { llamaSpec } from '../compiler/lower/helpers.ts';
import { tinySetup } from '../jobs/sample/tiny-denoiser.ts';
import { LLAMA, PARENT } from '../jobs/inherit/helpers.ts';

/** Runs `scion ARGS` in `cwd`; the exit code and what was printed. */
async function scion(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(cwd);
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** No stack trace: no `    at ` frame lines, no `Error:` header of an uncaught exception. */
function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('internal error');
}

const MODEL = 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 3)\n}\n';
const LM = `${llamaSpec('Tiny', 'vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = 8')}
train Tiny {
  data = text(path = "train.txt", seq = 8)
  loss = cross_entropy(logits, next(tokens))
  steps = 2
  batch = 2
}
`;
const INHERIT = `${LLAMA('P', PARENT)}
model C = P(depth = 2, ffn = 8)
inherit C from P at "parent.safetensors" {
  layers = [0, 3]
  ffn = [1, 2, 3, 5, 8, 13, 21, 23]
}
`;

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
/** The kinds of bad weights file, each with the message its path gets. */
const BAD: { kind: string; make: (p: string) => void; says: (p: string) => string }[] = [
  { kind: 'empty', make: (p) => writeFileSync(p, ''), says: (p) => `${p}: file is 0 bytes, shorter than the 8-byte header length` },
  {
    kind: 'garbage',
    make: (p) => writeFileSync(p, 'this is not a safetensors file, just some text\n'),
    says: (p) => `${p}: header length 2338328219631577204 exceeds the 104857600-byte limit`,
  },
  {
    kind: 'truncated',
    make: (p) => writeFileSync(p, readFileSync(join(dir, 'good.safetensors')).subarray(0, 60)),
    says: (p) => `${p}: header length 72 runs past the end of the 60-byte file`,
  },
  { kind: 'directory', make: (p) => mkdirSync(p), says: (p) => `${p}: is a directory, not a safetensors file` },
  { kind: 'missing', make: () => undefined, says: (p) => `${p}: cannot open: ENOENT: no such file or directory, open '${p}'` },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scion-hostile-'));
  writeFileSync(join(dir, 'm.scion'), MODEL);
  writeFileSync(join(dir, 'lm.scion'), LM);
  writeFileSync(join(dir, 'inherit.scion'), INHERIT);
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  writeFileSync(join(dir, 'train.txt'), 'the cat sat on the mat. a dog ran in the park. '.repeat(40));
  // Valid Tiny weights beside tokenizers that are not: garbage, the wrong kind, a directory.
  for (const [sub, make] of [
    ['tok-garbage', (p: string) => writeFileSync(p, 'not json\n')],
    ['tok-wrong', (p: string) => writeFileSync(p, '{"model": {"type": "BPE"}}')],
    ['tok-dir', (p: string) => mkdirSync(p)],
  ] as const) {
    mkdirSync(join(dir, sub));
    const r = await scion(dir, ['init', 'lm.scion', '--model', 'Tiny', '-o', `${sub}/model.safetensors`]);
    if (r.code !== 0) throw new Error(r.stderr);
    make(join(dir, sub, 'tokenizer.json'));
  }
  await writeSafetensors(join(dir, 'good.safetensors'), { 'linear.weight': { dtype: 'F32', shape: [3, 4], data: new Float32Array(12) } });
  await writeSafetensors(join(dir, 'in.safetensors'), { x: { dtype: 'F32', shape: [2, 4], data: new Float32Array(8) } });
  symlinkSync('m.scion', join(dir, 'link.scion'));
  symlinkSync('loop.safetensors', join(dir, 'loop.safetensors'));
  mkdirSync(join(dir, 'dir.index.json'));
  mkdirSync(join(dir, 'own'));
  writeFileSync(join(dir, 'own', 'model.safetensors'), readFileSync(join(dir, 'good.safetensors')));
  for (const b of BAD) {
    mkdirSync(join(dir, b.kind));
    b.make(join(dir, b.kind, 'w.safetensors'));
    writeFileSync(join(dir, b.kind, 'tokenizer.json'), '{}');
  }
});

let sample: Awaited<ReturnType<typeof tinySetup>>;
beforeAll(async () => {
  sample = await tinySetup();
});

describe('bad weights are one line, exit 1, for every command that reads weights', () => {
  for (const b of BAD) {
    it(b.kind, async () => {
      const w = join(dir, b.kind, 'w.safetensors');
      const cases: [string[], string][] = [
        [['eval', 'm.scion', '--model', 'M', '--weights', w, '--input', 'in.safetensors', '-o', 'out.safetensors'], `scion eval: ${b.says(w)}`],
        [['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', w, '-o', 'out.safetensors'], `scion eval: ${b.says(w)}`],
        [
          ['generate', 'lm.scion', '--weights', w, '--device', 'reference'],
          b.kind === 'missing' ? `scion generate: no weights at ${w}` : `scion generate: ${b.says(w)}`,
        ],
        [['eval', 'lm.scion', '--weights', w], `scion eval: ${b.says(w)}`],
        [['sample', sample.spec, '--weights', w, '--device', 'reference', '-o', 'grid.png'], `scion sample: ${b.says(w)}`],
        [
          ['sample', sample.spec, '--weights', sample.weights, '--judge', sample.judge, '--judge-weights', w, '--device', 'reference', '-o', 'grid.png'],
          b.kind === 'missing'
            ? `scion sample: the judge 'Judge' has no weights at ${w}: train it first (scion train SPEC --model Judge) or pass --judge-weights`
            : `scion sample: ${b.says(w)}`,
        ],
        [['inherit', 'inherit.scion', '--parent', w, '-o', 'child'], `scion inherit: inherit.scion:13: ${b.says(w)}`],
        [['inspect', w], `scion inspect: ${b.says(w)}`],
      ];
      for (const [args, says] of cases) {
        const r = await scion(dir, args);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: `${says}\n` });
        expectNoStack(r.stderr);
      }
    });

    it(`train --init: ${b.kind}`, async () => {
      const w = join(dir, b.kind, 'w.safetensors');
      const r = await scion(dir, ['train', 'lm.scion', '--init', w, '--out', `init-${b.kind}`, '--device', 'reference']);
      expect(r.code).toBe(1);
      // The job logs its data first; the failure is the last line.
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`scion train: --init: ${b.says(w)}`);
      expectNoStack(r.stderr);
    });
  }
});

describe('output paths are checked before any work starts', () => {
  const cases: { name: string; args: () => string[]; says: () => string; code?: number }[] = [
    {
      name: 'eval -o into a missing folder',
      args: () => ['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', 'in.safetensors', '-o', 'nope/out.safetensors'],
      says: () => `scion eval: cannot write 'nope/out.safetensors': the folder '${dir}/nope' does not exist: create it first or choose another path`,
    },
    {
      name: 'eval -o onto a directory',
      args: () => ['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', 'in.safetensors', '-o', 'empty'],
      says: () => `scion eval: cannot write 'empty': it is a directory: give the path of a file (in it or elsewhere)`,
    },
    {
      name: 'eval -o under a file',
      args: () => ['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', 'in.safetensors', '-o', 'm.scion/out.safetensors'],
      says: () => `scion eval: cannot write 'm.scion/out.safetensors': '${dir}/m.scion' is not a folder: choose another path`,
    },
    {
      name: 'eval -o onto its own weights',
      args: () => ['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', 'in.safetensors', '-o', './good.safetensors'],
      says: () =>
        `scion eval: refusing to write './good.safetensors': it is also an input of this command (${dir}/good.safetensors): choose another output path`,
    },
    {
      name: 'sample -o into a missing folder (refused before sampling)',
      args: () => ['sample', sample.spec, '--weights', sample.weights, '--device', 'reference', '-o', 'nope/grid.png'],
      says: () => `scion sample: cannot write 'nope/grid.png': the folder '${dir}/nope' does not exist: create it first or choose another path`,
    },
    {
      name: 'sample -o onto a directory',
      args: () => ['sample', sample.spec, '--weights', sample.weights, '--device', 'reference', '-o', 'empty'],
      says: () => `scion sample: cannot write 'empty': it is a directory: give the path of a file (in it or elsewhere)`,
    },
    {
      name: 'sample -o onto its weights',
      args: () => ['sample', sample.spec, '--weights', sample.weights, '--device', 'reference', '-o', sample.weights],
      says: () => `scion sample: refusing to write '${sample.weights}': it is also an input of this command (${sample.weights}): choose another output path`,
    },
    {
      name: 'init -o into a missing folder',
      args: () => ['init', 'm.scion', '--model', 'M', '-o', 'nope/w.safetensors'],
      says: () => `scion init: cannot write 'nope/w.safetensors': the folder '${dir}/nope' does not exist: create it first or choose another path`,
    },
    {
      name: 'init -o onto a directory',
      args: () => ['init', 'm.scion', '--model', 'M', '-o', '.'],
      says: () => `scion init: cannot write '.': it is a directory: give the path of a file (in it or elsewhere)`,
    },
    {
      name: 'convert -o into a missing folder',
      args: () => ['convert', 'm.scion', '-o', 'nope/m.yaml'],
      says: () => `scion convert: cannot write 'nope/m.yaml': the folder '${dir}/nope' does not exist: create it first or choose another path`,
    },
    {
      name: 'convert onto its own source',
      args: () => ['convert', 'm.scion', '-o', 'm.scion'],
      says: () => `scion convert: refusing to write 'm.scion': it is also an input of this command (${dir}/m.scion): choose another output path`,
    },
    {
      name: 'convert onto its own source through a symbolic link',
      args: () => ['convert', 'm.scion', '--to', 'yaml', '-o', 'link.scion'],
      says: () => `scion convert: refusing to write 'link.scion': it is also an input of this command (${dir}/m.scion): choose another output path`,
    },
    {
      name: 'export -o into a missing folder',
      args: () => ['export', 'm.scion', '--model', 'M', '--onnx', '-o', 'nope/m.onnx'],
      says: () => `scion export: cannot write 'nope/m.onnx': the folder '${dir}/nope' does not exist: create it first or choose another path`,
    },
    {
      name: 'export onto its own spec',
      args: () => ['export', 'm.scion', '--model', 'M', '--onnx', '-o', 'm.scion'],
      says: () => `scion export: refusing to write 'm.scion': it is also an input of this command (${dir}/m.scion): choose another output path`,
    },
    {
      name: 'train --out a file',
      args: () => ['train', 'lm.scion', '--out', 'm.scion', '--device', 'reference'],
      says: () => `scion train: cannot write into 'm.scion': it is a file, not a folder: choose another path`,
    },
    {
      name: 'train --out under a file',
      args: () => ['train', 'lm.scion', '--out', 'm.scion/run', '--device', 'reference'],
      says: () => `scion train: cannot make the folder 'm.scion/run': '${dir}/m.scion' is a file`,
    },
    {
      name: 'compile -o a file',
      args: () => ['compile', 'm.scion', '-o', 'm.scion'],
      says: () => `scion compile: cannot write into 'm.scion': it is a file, not a folder: choose another path`,
    },
    {
      name: 'inherit -o a file',
      args: () => ['inherit', 'inherit.scion', '-o', 'm.scion'],
      says: () => `scion inherit: cannot write into 'm.scion': it is a file, not a folder: choose another path`,
    },
    {
      name: "inherit -o the parent's own folder",
      args: () => ['inherit', 'inherit.scion', '--parent', 'own/model.safetensors', '-o', 'own'],
      says: () =>
        `scion inherit: refusing to write 'own/model.safetensors': it is also an input of this command (${dir}/own/model.safetensors): choose another output path`,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const before = readFileSync(join(dir, 'm.scion'), 'utf8');
      const r = await scion(dir, c.args());
      expect(r.stderr).toBe(`${c.says()}\n`);
      expect(r.code).toBe(c.code ?? 1);
      expectNoStack(r.stderr);
      expect(existsSync(join(dir, 'nope'))).toBe(false);
      expect(readFileSync(join(dir, 'm.scion'), 'utf8')).toBe(before);
    });
  }
});

describe('unknown and unreadable paths', () => {
  const cases: { name: string; args: string[]; says: () => string; code?: number }[] = [
    { name: 'a missing spec', args: ['check', 'nope.scion'], says: () => `scion check: cannot read 'nope.scion': no such file` },
    { name: 'a spec that is a directory', args: ['explain', 'empty'], says: () => `scion explain: cannot read 'empty': it is a directory, not a file` },
    {
      name: 'a spec under a file',
      args: ['train', 'm.scion/x.scion'],
      says: () => `scion train: cannot read 'm.scion/x.scion': a part of the path is not a directory`,
    },
    {
      name: 'a spec that is a symbolic link loop',
      args: ['check', 'loop.safetensors'],
      says: () => `scion check: cannot read 'loop.safetensors': too many levels of symbolic links (a link loop)`,
    },
    {
      name: 'fmt --write a directory (usage, as before)',
      args: ['fmt', '--write', 'empty'],
      says: () => `scion fmt: cannot read 'empty': it is a directory, not a file`,
      code: 2,
    },
    {
      name: 'convert a missing file (usage, as before)',
      args: ['convert', 'nope.scion'],
      says: () => `scion convert: cannot read 'nope.scion': no such file`,
      code: 2,
    },
    {
      name: 'generate with a tokenizer that is not JSON',
      args: ['generate', 'lm.scion', '--weights', 'tok-garbage/model.safetensors', '--device', 'reference'],
      says: () => `scion generate: ${dir}/tok-garbage/tokenizer.json: not JSON: Unexpected token 'o', "not json\\n" is not valid JSON`,
    },
    {
      name: 'generate with a tokenizer of another kind',
      args: ['generate', 'lm.scion', '--weights', 'tok-wrong/model.safetensors', '--device', 'reference'],
      says: () => `scion generate: ${dir}/tok-wrong/tokenizer.json: pre_tokenizer must be {"type": "ByteLevel"}`,
    },
    {
      name: 'generate with a tokenizer that is a directory',
      args: ['generate', 'lm.scion', '--weights', 'tok-dir/model.safetensors', '--device', 'reference'],
      says: () => `scion generate: ${dir}/tok-dir/tokenizer.json: cannot read: EISDIR: illegal operation on a directory, read`,
    },
    {
      name: 'inherit --replay a provenance that is not JSON',
      args: ['inherit', '--replay', 'm.scion', '--parent', 'good.safetensors', '-o', 'replayed'],
      says: () => `scion inherit: ${dir}/m.scion: not JSON: Unexpected token 'm', "model M {\\n"... is not valid JSON`,
    },

    {
      name: 'eval --input a symbolic link loop',
      args: ['eval', 'm.scion', '--model', 'M', '--weights', 'good.safetensors', '--input', 'loop.safetensors', '-o', 'out.safetensors'],
      says: () => `scion eval: ${dir}/loop.safetensors: cannot open: ELOOP: too many symbolic links encountered, open '${dir}/loop.safetensors'`,
    },
    {
      name: 'inspect a missing sharded index',
      args: ['inspect', 'nope/model.safetensors.index.json'],
      says: () =>
        `scion inspect: ${dir}/nope/model.safetensors.index.json: cannot open: ENOENT: no such file or directory, stat '${dir}/nope/model.safetensors.index.json'`,
    },
    {
      name: 'inspect a directory named like an index',
      args: ['inspect', 'dir.index.json'],
      says: () => `scion inspect: ${dir}/dir.index.json: is a directory, not a checkpoint index`,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await scion(dir, c.args);
      expect(r.stderr).toBe(`${c.says()}\n`);
      expect(r.code).toBe(c.code ?? 1);
      expectNoStack(r.stderr);
    });
  }
});

describe('as a process (bin/scion.mjs)', () => {
  it('a malformed weights file: exit status 1, one line on stderr, nothing on stdout', () => {
    const w = join(dir, 'garbage', 'w.safetensors');
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/scion.mjs'), 'eval', 'm.scion', '--model', 'M', '--weights', w, '--input', 'in.safetensors', '-o', 'out.safetensors'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`scion eval: ${w}: header length 2338328219631577204 exceeds the 104857600-byte limit\n`);
  });
});

describe('sizes beyond what typed arrays hold', () => {
  it('init of a 4e12-parameter layer is refused at its line before any allocation, exit 1, and writes nothing', async () => {
    writeFileSync(join(dir, 'huge.scion'), 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 1000000000000)\n}\n');
    const r = await scion(dir, ['init', 'huge.scion', '--model', 'M', '-o', 'huge.safetensors']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        'huge.scion:3:24: error[E0509]: `Linear` argument `out` is 1000000000000; a size is at most 2^31 - 1 = 2147483647, the most a typed array is sure to hold',
        '  3 │   output y = Linear(x, 1000000000000)',
        '    │                        ^^^^^^^^^^^^^',
        '  = help: use a smaller size',
        '',
        '1 error',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(dir, 'huge.safetensors'))).toBe(false);
  });

  it('check refuses a layer weight and a model too large for the machine, at their lines', async () => {
    writeFileSync(
      join(dir, 'wide.scion'),
      'model W(dim = 100000) {\n  input x: f32[batch, dim]\n  output y = Linear(x, dim) as proj\n}\n' +
        'model D(dim = 40000, depth = 1000) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..depth {\n    h = Linear(h, dim) as layers[i]\n  }\n  output y = h\n}\n',
    );
    const r = await scion(dir, ['check', 'wide.scion']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('wide.scion'))).toEqual([
      'wide.scion:3:14: error[E0509]: parameter `proj.weight` of shape [100000, 100000] has 10000000000 elements; the limit is 2^31 - 1 = 2147483647, the most a typed array is sure to hold',
      "wide.scion:9:9: error[E0510]: the model's parameters reach 1100827480000 at `layers.687.weight`; the limit is 2^40 = 1099511627776",
    ]);
    expectNoStack(r.stderr);
  });

  it('explain of layers that call each other is E0314 with the path, not a stack overflow', async () => {
    writeFileSync(
      join(dir, 'rec.scion'),
      'layer A(x) {\n  return B(x)\n}\nlayer B(x) {\n  return A(x)\n}\nmodel M {\n  input x: f32[2, 4]\n  output y = A(x)\n}\n',
    );
    const r = await scion(dir, ['explain', 'rec.scion', '--model', 'M']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe('rec.scion:1:7: error[E0314]: layer `A` calls itself: `A` → `B` → `A`');
    expect(r.stderr).not.toMatch(/RangeError|Maximum call stack/);
    expectNoStack(r.stderr);
  });
});

// A coarse time bound per test (bench/large-inputs.ts has the real ones).
describe('diagnostics name the first real error (deep nesting, Unicode, numbers, invalid UTF-8)', { timeout: 30_000 }, () => {
  const write = (name: string, text: string | Uint8Array): string => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  /** `model M` with its output computed by `expr`. */
  const spec = (expr: string): string => `model M {\n  input x: f32[2, 4]\n  output y = ${expr}\n}\n`;
  const latin1 = (text: string, at: number): Uint8Array => {
    const bytes = new TextEncoder().encode(text);
    bytes[at] = 0xe9; // é in Latin-1: not UTF-8
    return bytes;
  };
  const cases: { name: string; args: () => string[]; stdout?: string; stderr?: string; code: number }[] = [
    {
      name: 'a name with an accent: one E0109 naming the character, not "model has no output"',
      args: () => ['check', write('accent.scion', 'model M {\n  input x: f32[2, 4]\n  h\u00e9 = Linear(x, 3)\n  output y = h\u00e9\n}\n')],
      stdout: [
        'accent.scion:3:4: error[E0109]: name `h\u00e9` has `\u00e9` (U+00E9), a character outside ASCII; names are ASCII letters, digits and `_`',
        '  3 │   h\u00e9 = Linear(x, 3)',
        '    │    ^',
        '  = help: write `he`',
        '',
        'accent.scion:4:15: error[E0109]: name `h\u00e9` has `\u00e9` (U+00E9), a character outside ASCII; names are ASCII letters, digits and `_`',
        '  4 │   output y = h\u00e9',
        '    │               ^',
        '  = help: write `he`',
        '',
        '2 errors',
        '',
      ].join('\n'),
      code: 1,
    },
    {
      name: 'a zero-width joiner inside a name (explain): E0109 at it, on stderr',
      args: () => ['explain', write('zwj.scion', spec('Linear(x\u200Dx, 3)'))],
      stderr:
        'zwj.scion:3:22: error[E0109]: name `x\u200Dx` has U+200D, a character outside ASCII; names are ASCII letters, digits and `_`\n' +
        '  3 │   output y = Linear(x\u200Dx, 3)\n' +
        '    │                      ^\n' +
        '  = help: write `xx`\n\n1 error\n',
      code: 1,
    },
    {
      name: '10,000 nested brackets: E0106 at the 101st, nothing before it',
      args: () => ['check', write('deep.scion', spec(`Linear(${'('.repeat(10_000)}x${')'.repeat(10_000)}, 3)`))],
      code: 1,
    },
    {
      name: 'a bracket left open: E0110 at the bracket',
      args: () => ['check', write('open.scion', 'model M {\n  input x: f32[2, 4]\n  output y = Linear((x), 3\n}\n')],
      code: 1,
    },
    {
      name: '1e400 in a .scion spec: too large, said once',
      args: () => ['check', write('big.scion', spec('Linear(x, 1e400)'))],
      stdout:
        'big.scion:3:24: error[E0104]: number `1e400` is too large: a number is at most about 1.8e308 (a double)\n' +
        '  3 │   output y = Linear(x, 1e400)\n' +
        '    │                        ^^^^^\n\n1 error\n',
      code: 1,
    },
    {
      name: 'YAML .nan: named as NaN at its place',
      args: () => [
        'check',
        write('nan.yaml', 'scion: 1\ndecls:\n  - model: M\n    params: {dim: .nan}\n    body:\n      - input: x\n        type: f32[2, dim]\n'),
      ],
      stdout:
        'nan.yaml:4:19: error[E0208]: `dim`: expected a finite number, found NaN (.nan)\n' +
        '  4 │     params: {dim: .nan}\n' +
        '    │                   ^^^^\n' +
        '  = help: write a finite number\n\n1 error\n',
      code: 1,
    },
    {
      name: 'invalid UTF-8 in a spec: the byte and the line',
      args: () => ['check', write('latin1.scion', latin1(spec('Linear(x, 3)  // caf_'), 51))],
      stderr: 'scion check: latin1.scion: invalid UTF-8 at byte 51 (line 3): save the file as UTF-8\n',
      code: 1,
    },
    {
      name: 'invalid UTF-8 in an imported spec',
      args: () => ['check', write('imports-latin1.scion', 'import "latin1.scion"\n')],
      stderr: 'scion check: latin1.scion: invalid UTF-8 at byte 51 (line 3): save the file as UTF-8\n',
      code: 1,
    },
    {
      name: 'invalid UTF-8 on standard input',
      args: () => ['check', '-'],
      stderr: 'scion check: <stdin>: invalid UTF-8 at byte 51 (line 3): save the file as UTF-8\n',
      code: 1,
    },
    {
      name: 'fmt --write refuses invalid UTF-8 rather than write U+FFFD',
      args: () => ['fmt', '--write', 'latin1.scion'],
      stderr: 'scion fmt: latin1.scion: invalid UTF-8 at byte 51 (line 3): save the file as UTF-8\n',
      code: 1,
    },
    {
      name: 'convert refuses invalid UTF-8 rather than write U+FFFD',
      args: () => ['convert', 'latin1.scion', '-o', 'latin1.yaml'],
      stderr: 'scion convert: latin1.scion: invalid UTF-8 at byte 51 (line 3): save the file as UTF-8\n',
      code: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const io = captureIo(dir);
      if (c.name.includes('standard input')) io.stdin = () => decodeUtf8(latin1(spec('Linear(x, 3)  // caf_'), 51), '<stdin>');
      const code = await main(c.args(), io);
      expect(code).toBe(c.code);
      if (c.stdout !== undefined) expect(io.stdout).toBe(c.stdout);
      if (c.stderr !== undefined) expect(io.stderr).toBe(c.stderr);
      expectNoStack(io.stderr);
      expect(`${io.stdout}${io.stderr}`).not.toMatch(/has no output|``|\uFFFD/);
    });
  }

  it('the first error of deep nesting and of an open bracket is the real one', async () => {
    const first = async (file: string): Promise<string> => (await scion(dir, ['check', file])).stdout.split('\n')[0]!;
    // `  output y = Linear(`: the 101st bracket (the model's `{` and the call's `(` are two) is at column 119.
    expect(await first('deep.scion')).toBe('deep.scion:3:119: error[E0106]: brackets nest more than 100 levels deep');
    expect(await first('open.scion')).toBe('open.scion:3:20: error[E0110]: `(` is never closed: a `}` comes first');
  });

  it('nothing is written by fmt or convert from invalid UTF-8', () => {
    expect(readFileSync(join(dir, 'latin1.scion'))[51]).toBe(0xe9);
    expect(existsSync(join(dir, 'latin1.yaml'))).toBe(false);
  });

  it('invalid UTF-8 in text data and in a tokenizer', async () => {
    write('bad-utf8.txt', latin1('the cat sat on the mat. '.repeat(40), 100));
    const r = await scion(dir, ['train', write('lm-bad.scion', LM.replace('train.txt', 'bad-utf8.txt')), '--out', 'run-bad-utf8', '--device', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^scion train: .*bad-utf8\.txt: invalid UTF-8 at byte 100 \(line 1\): save the file as UTF-8$/);
    expectNoStack(r.stderr);
    mkdirSync(join(dir, 'tok-latin1'));
    writeFileSync(join(dir, 'tok-latin1', 'model.safetensors'), readFileSync(join(dir, 'tok-garbage', 'model.safetensors')));
    write('tok-latin1/tokenizer.json', latin1('{"model": {"type": "BPE", "vocab": {"_": 0}}}', 28));
    const g = await scion(dir, ['generate', 'lm.scion', '--weights', 'tok-latin1/model.safetensors', '--device', 'cpu']);
    expect(g.stderr).toBe(`scion generate: ${dir}/tok-latin1/tokenizer.json: invalid UTF-8 at byte 28 (line 1): save the file as UTF-8\n`);
    expect(g.code).toBe(1);
  });
});
