// parseFlags against one demo command that takes a flag of every value kind: good values, bad
// values with the exact one-line message, missing values, unknown and repeated flags, positional
// counts, required flags and --help. Every usage error is the message line, then the usage line.

import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES } from '../../backends/registry.ts';
import { type CommandSpec, commandSpec, FLAGS, type FlagName, type FlagSpec, HELP, parseFlags, usageLine } from '../../cli/flags.ts';
import { UsageError } from '../../cli/io.ts';

const DEMO = commandSpec({
  name: 'demo',
  about: 'A command that takes one flag of every kind.',
  args: { name: 'FILE', min: 1, max: 1, stdin: true },
  flags: ['seed', 'steps', 'guidance', 'device', 'classes', 'features', 'sampleWeights', 'tap', 'json', 'prompt', 'out', 'from', 'model'],
});

/** Parses `demo FILE ...args` and returns the flag values (HELP never expected here). */
function values(args: string[]): Record<string, unknown> {
  const r = parseFlags(['spec.scion', ...args], DEMO);
  if (r === HELP) throw new Error('unexpected help');
  return r.flags;
}

/** The first line of the usage error `args` raise (the second is always the usage line). */
function problem(args: string[], spec: CommandSpec<FlagName, FlagName> = DEMO): string {
  try {
    parseFlags(args, spec);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const [first, ...rest] = error.message.split('\n');
    expect(rest).toEqual([usageLine(spec)]);
    return first as string;
  }
  throw new Error(`no usage error for ${JSON.stringify(args)}`);
}

describe('parseFlags: good values', () => {
  const cases: [string, string[], Record<string, unknown>][] = [
    ['nothing given: switches false, values undefined, repeats empty', [], { json: false, seed: undefined, tap: [], sampleWeights: [] }],
    ['non-negative int 0', ['--seed', '0'], { seed: 0 }],
    ['non-negative int', ['--seed', '42'], { seed: 42 }],
    ['positive int', ['--steps', '1'], { steps: 1 }],
    ['number >= 0: zero', ['--guidance', '0'], { guidance: 0 }],
    ['number >= 0: fraction', ['--guidance', '7.5'], { guidance: 7.5 }],
    ['device auto', ['--device', 'auto'], { device: 'auto' }],
    ...BACKEND_NAMES.map((n): [string, string[], Record<string, unknown>] => [`device ${n}`, ['--device', n], { device: n }]),
    ['comma list of ints', ['--classes', '0,1,2'], { classes: [0, 1, 2] }],
    ['one class', ['--classes', '3'], { classes: [3] }],
    ['features, blanks dropped', ['--features', ' subgroups , shader-f16,'], { features: ['subgroups', 'shader-f16'] }],
    [
      'repeatable [MODEL=]W',
      ['--weights', 'a.safetensors', '--weights', 'Hi=b.safetensors'],
      {
        sampleWeights: [
          { model: null, path: 'a.safetensors' },
          { model: 'Hi', path: 'b.safetensors' },
        ],
      },
    ],
    ['= in a path that is not MODEL=', ['--weights', '1=x.safetensors'], { sampleWeights: [{ model: null, path: '1=x.safetensors' }] }],
    ['repeatable text, in order', ['--tap', 'b', '--tap', 'a'], { tap: ['b', 'a'] }],
    ['switch', ['--json'], { json: true }],
    ['short spelling', ['-o', 'x.png'], { out: 'x.png' }],
    ['long spelling', ['--out', 'x.png'], { out: 'x.png' }],
    ['a value that starts with one dash', ['--model', '-m'], { model: '-m' }],
    ['standard input as a value', ['-o', '-'], { out: '-' }],
    ['form', ['--from', 'yaml'], { from: 'yaml' }],
    ['raw text: any text', ['--prompt', 'Once upon'], { prompt: 'Once upon' }],
    ['raw text: starting with --', ['--prompt', '--json'], { prompt: '--json', json: false }],
    ['raw text: -h is the prompt, not help', ['--prompt', '-h'], { prompt: '-h' }],
    ['raw text: empty', ['--prompt', ''], { prompt: '' }],
  ];
  it.each(cases)('%s', (_name, args, expected) => {
    expect(values(args)).toMatchObject(expected);
  });

  it('keeps positional arguments in order, `-` among them where the command reads standard input', () => {
    const spec = commandSpec({ name: 'many', about: '.', args: { name: 'FILE', min: 0, max: Infinity, stdin: true }, flags: ['json'] });
    expect(parseFlags(['a', '--json', '-', 'b'], spec)).toEqual({ flags: { json: true }, args: ['a', '-', 'b'] });
  });
});

describe('parseFlags: usage errors, one line each', () => {
  const cases: [string, string[], string][] = [
    ['int >= 0: negative', ['--seed', '-1'], "--seed takes an integer >= 0, got '-1'"],
    ['int >= 0: fraction', ['--seed', '1.5'], "--seed takes an integer >= 0, got '1.5'"],
    ['int >= 0: NaN', ['--seed', 'NaN'], "--seed takes an integer >= 0, got 'NaN'"],
    ['int >= 0: word', ['--seed', 'abc'], "--seed takes an integer >= 0, got 'abc'"],
    ['int >= 0: empty', ['--seed', ''], "--seed takes an integer >= 0, got ''"],
    ['int >= 0: unsafe', ['--seed', '1e300'], "--seed takes an integer >= 0, got '1e300'"],
    ['positive int: zero', ['--steps', '0'], "--steps must be a positive integer, got '0'"],
    ['positive int: word', ['--steps', 'ten'], "--steps must be a positive integer, got 'ten'"],
    ['number >= 0: negative', ['--guidance', '-1'], "--guidance takes a number >= 0, got '-1'"],
    ['number >= 0: infinite', ['--guidance', 'Infinity'], "--guidance takes a number >= 0, got 'Infinity'"],
    ['number >= 0: NaN', ['--guidance', 'NaN'], "--guidance takes a number >= 0, got 'NaN'"],
    ['device: unknown', ['--device', 'tpu'], `--device must be auto or one of ${BACKEND_NAMES.join(', ')}, got 'tpu'`],
    ['int list: empty item', ['--classes', '0,,1'], "--classes takes integers >= 0 like 0,1,2, got '0,,1'"],
    ['int list: negative', ['--classes', '1,-2'], "--classes takes integers >= 0 like 0,1,2, got '1,-2'"],
    ['features: unknown', ['--features', 'subgroups,warp-speed'], 'unknown feature(s) warp-speed for --features (known: shader-f16, subgroups)'],
    ['form: unknown', ['--from', 'json'], "--from takes scion or yaml, not 'json'"],
    ['missing value at the end', ['--seed'], '--seed needs a value'],
    ['missing value: next is a flag', ['--model', '--json'], '--model needs a value'],
    ['missing value of a repeatable flag', ['--tap'], '--tap needs a value'],
    ['missing raw text', ['--prompt'], '--prompt needs a value'],
    ['unknown flag, with the nearest', ['--sed', '1'], "unknown option '--sed' (did you mean --seed?)"],
    ['unknown flag, nothing near', ['--frobnicate'], "unknown option '--frobnicate'"],
    ['a flag another command takes', ['--resume'], "unknown option '--resume'"],
    ['repeated value flag', ['--seed', '1', '--seed', '2'], '--seed is given more than once'],
    ['repeated switch', ['--json', '--json'], '--json is given more than once'],
    ['repeated under two spellings', ['-o', 'a', '--out', 'b'], '--out is given more than once'],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    expect(problem(['spec.scion', ...args])).toBe(message);
  });

  it('counts positional arguments', () => {
    expect(problem([])).toBe('no file given');
    expect(problem(['a', 'b'])).toBe('expected at most 1 FILE, got 2');
    const none = commandSpec({ name: 'none', about: '.', args: { name: 'X', min: 0, max: 0 }, flags: [] });
    expect(problem(['a'], none)).toBe("unexpected argument 'a'");
  });

  it('takes `-` as an option where the command reads no standard input', () => {
    const spec = commandSpec({ name: 'nostdin', about: '.', args: { name: 'FILE', min: 1, max: 1 }, flags: [] });
    expect(problem(['-'], spec)).toBe("unknown option '-'");
  });

  it('names a missing required flag with its placeholder, and types it as present', () => {
    const spec = commandSpec({
      name: 'req',
      about: '.',
      args: { name: 'FILE', min: 1, max: 1 },
      flags: ['model', 'out'],
      required: ['out'],
      placeholders: { out: 'DIR' },
    });
    expect(problem(['a'], spec)).toBe('-o DIR is required');
    const r = parseFlags(['a', '-o', 'd'], spec);
    if (r === HELP) throw new Error('unexpected help');
    const out: string = r.flags.out; // required: string, not string | undefined
    expect(out).toBe('d');
    expect(usageLine(spec)).toBe('usage: scion req FILE [--model NAME] -o DIR');
  });
});

describe('parseFlags: help', () => {
  it.each([[['--help']], [['-h']], [['a', '--bogus', '--seed', 'x', '-h']], [['--model', '--help']]])('%j asks for help', (args) => {
    expect(parseFlags(args, DEMO)).toBe(HELP);
  });
});

describe('FLAGS', () => {
  it('has one help line per flag and spellings that start with -', () => {
    for (const [key, f] of Object.entries(FLAGS) as [string, FlagSpec][]) {
      expect(f.help, key).toMatch(/^[^\n]+$/);
      for (const n of f.names) expect(n, key).toMatch(/^--?[a-z][a-z0-9-]*$/);
      if (f.kind !== 'switch') expect(f.value, key).not.toBe('');
    }
  });
  it("spells --device's placeholder from the backend registry", () => {
    expect(FLAGS.device.value).toBe(['auto', ...BACKEND_NAMES].join('|'));
  });
});
