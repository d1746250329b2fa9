// Every flag of every command, once: its spelling(s), value placeholder, help line and value
// parser. A command declares which flags it takes (a CommandSpec); `parseFlags` reads a command
// line against that declaration, and the usage line and --help text are generated from it. A bad
// command line is a UsageError (exit 2): one line naming the flag and the problem, then the usage.

import { BACKEND_NAMES, isDeviceChoice, type DeviceChoice } from '../backends/registry.ts';
import { nearest } from '../grammar/diagnostics/suggest.ts';
import { EXIT, UsageError, type Command, type Io } from './io.ts';

/** Reads a flag's value; throws a UsageError whose message names `flag` (the spelling used). */
export type ValueParser<T> = (text: string, flag: string) => T;

/** A switch: present or not (`--json`). */
export interface SwitchFlag {
  readonly kind: 'switch';
  readonly names: readonly [string, ...string[]];
  readonly help: string;
}
/** A flag with one value (`--seed 3`); given twice is an error. */
export interface ValueFlag<T> {
  readonly kind: 'value';
  readonly names: readonly [string, ...string[]];
  readonly value: string;
  readonly help: string;
  readonly parse: ValueParser<T>;
  /** Takes the next argument whatever it is, even one starting with `-` (`--prompt '--x'`). */
  readonly raw?: true;
}
/** A flag that may be given many times, collecting its values in order (`--tap a --tap b`). */
export interface RepeatFlag<T> {
  readonly kind: 'repeat';
  readonly names: readonly [string, ...string[]];
  readonly value: string;
  readonly help: string;
  readonly parse: ValueParser<T>;
}
export type FlagSpec<T = unknown> = SwitchFlag | ValueFlag<T> | RepeatFlag<T>;

type Names = readonly [string, ...string[]];
const toggle = (names: Names, help: string): SwitchFlag => ({ kind: 'switch', names, help });
const one = <T>(names: Names, value: string, help: string, parse: ValueParser<T>): ValueFlag<T> => ({ kind: 'value', names, value, help, parse });
const many = <T>(names: Names, value: string, help: string, parse: ValueParser<T>): RepeatFlag<T> => ({ kind: 'repeat', names, value, help, parse });

// ---- value parsers: each message is one line that names the flag and what was wrong.

const bad = (message: string): UsageError => new UsageError(message);

/** Any text (a name or a path). */
export const text: ValueParser<string> = (v) => v;

/** An integer >= 1 (`--steps`, `--batch`). */
export const positiveInt: ValueParser<number> = (v, flag) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw bad(`${flag} must be a positive integer, got '${v}'`);
  return n;
};

/** An integer >= 0 (`--seed`, `--top-k`). */
export const nonNegativeInt: ValueParser<number> = (v, flag) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw bad(`${flag} takes an integer >= 0, got '${v}'`);
  return n;
};

/** A finite number >= 0 (`--temperature`, `--guidance`). */
export const nonNegativeNumber: ValueParser<number> = (v, flag) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw bad(`${flag} takes a number >= 0, got '${v}'`);
  return n;
};

/** `auto` or a backend's name, as backends/registry.ts lists them. */
export const device: ValueParser<DeviceChoice> = (v, flag) => {
  if (isDeviceChoice(v)) return v;
  throw bad(`${flag} must be auto or one of ${BACKEND_NAMES.join(', ')}, got '${v}'`);
};

/** A spec's form (`--from`, `--to`): standard input has no extension to tell it. */
export const form: ValueParser<'scion' | 'yaml'> = (v, flag) => {
  if (v !== 'scion' && v !== 'yaml') throw bad(`${flag} takes scion or yaml, not '${v}'`);
  return v;
};

/** A comma list of integers >= 0 (`--classes 0,1,2`). */
export const intList: ValueParser<number[]> = (v, flag) => {
  const list = v.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  if (list.some((c) => !Number.isSafeInteger(c) || c < 0)) throw bad(`${flag} takes integers >= 0 like 0,1,2, got '${v}'`);
  return list;
};

/** WebGPU features the compiler knows how to use (`--features`). */
export const KNOWN_FEATURES = ['shader-f16', 'subgroups'] as const;

/** A comma list of known features; blanks are dropped. */
export const featureList: ValueParser<string[]> = (v, flag) => {
  const list = v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  const unknown = list.filter((x) => !(KNOWN_FEATURES as readonly string[]).includes(x));
  if (unknown.length > 0) throw bad(`unknown feature(s) ${unknown.join(', ')} for ${flag} (known: ${KNOWN_FEATURES.join(', ')})`);
  return list;
};

/** `W` or `MODEL=W`: weights for the sampled model, or for the model named (model switching). */
export const modelWeights: ValueParser<{ model: string | null; path: string }> = (v) => {
  const eq = v.indexOf('=');
  if (eq > 0 && /^[A-Za-z_]\w*$/.test(v.slice(0, eq))) return { model: v.slice(0, eq), path: v.slice(eq + 1) };
  return { model: null, path: v };
};

/** `MODEL=W`: a frozen teacher's or base's weights (`scion train`), the model named. */
export const frozenWeights: ValueParser<{ model: string; path: string }> = (v, flag) => {
  const w = modelWeights(v, flag);
  if (w.model === null) throw bad(`${flag} ${v}: name the frozen model, as in ${flag} Teacher=runs/Teacher/model.safetensors`);
  return { model: w.model, path: w.path };
};

const DEVICES = ['auto', ...BACKEND_NAMES].join('|');

/**
 * The flags, keyed by what they mean. Two meanings may share a spelling (`--weights` is one
 * checkpoint for eval and generate, a repeatable `[MODEL=]W` for sample, `MODEL=W` for train's
 * frozen models) but no command takes two of them.
 */
export const FLAGS = {
  help: toggle(['-h', '--help'], 'print this help and exit'),
  json: toggle(['--json'], 'print one JSON object instead of text'),
  model: one(['--model'], 'NAME', 'the model, by its name in the spec', text),
  out: one(['-o', '--out'], 'PATH', 'where to write the result', text),
  batch: one(['--batch'], 'B', "the batch size (the model's `batch` dim)", positiveInt),
  steps: one(['--steps'], 'N', 'how many steps to run (training or sampling)', positiveInt),
  seed: one(['--seed'], 'S', 'the random seed, an integer >= 0', nonNegativeInt),
  device: one(['--device'], DEVICES, 'the backend to run on (auto: the first in backends/registry.ts that can)', device),
  weights: one(['--weights'], 'W.safetensors', 'the trained weights', text),
  sampleWeights: many(['--weights'], '[MODEL=]W', "the sampled model's weights, or MODEL's when the sample block switches models (repeatable)", modelWeights),
  frozenWeights: many(['--weights'], 'MODEL=W', "a frozen teacher's or base's weights (default runs/MODEL/model.safetensors; repeatable)", frozenWeights),
  from: one(['--from'], 'scion|yaml', "the input's form (default: by FILE's extension)", form),
  to: one(['--to'], 'scion|yaml', "the form to write (default: the other one, or OUT's extension)", form),
  write: toggle(['--write'], 'rewrite each file in place (only those with no parse errors)'),
  check: toggle(['--check'], 'print the files that are not formatted; exit 1 if any'),
  train: toggle(['--train'], 'compile the training step too (next-token cross-entropy, autodiff, AdamW)'),
  exportTrain: toggle(['--train'], "export the training step instead: forward, loss, backward, the spec's clipping and AdamW"),
  onnx: toggle(['--onnx'], 'write an ONNX model (opset 17); the only format export writes today'),
  f16: toggle(['--f16'], 'store the weights as f16 on WebGPU (arithmetic stays f32; needs shader-f16)'),
  features: one(['--features'], 'LIST', `the target device's WebGPU features, comma-separated (${KNOWN_FEATURES.join(', ')})`, featureList),
  input: one(['--input'], 'IN.safetensors', "the inputs, tensors named like the spec's inputs", text),
  tap: many(['--tap'], 'PATH', 'also write this intermediate (a `let` name, layer path or `as` name); repeatable', text),
  profile: toggle(['--profile'], 'time each WebGPU kernel and print them, slowest first, with their spec lines'),
  data: one(['--data'], 'SPLIT', 'the split of the training data to evaluate on: val (default), train or calib', text),
  batches: one(['--batches'], 'N', 'evaluate on at most N batches (default 64; 4 for a diffusion model, in every band)', positiveInt),
  bands: one(['--bands'], 'N', "a diffusion model's ε-MSE in N equal timestep bands beside the per-class Gaussian denoiser (default 10)", positiveInt),
  prompt: { ...one(['--prompt'], 'TEXT', 'the text to continue (taken as is, even when it starts with -)', text), raw: true },
  tokens: one(['--tokens'], 'N', 'how many tokens to generate (default 64)', positiveInt),
  temperature: one(['--temperature'], 'T', 'the sampling temperature, >= 0 (0: greedy; default 0.8)', nonNegativeNumber),
  topK: one(['--top-k'], 'K', 'sample from the K most likely tokens (0: all; default 40)', nonNegativeInt),
  init: one(['--init'], 'WEIGHTS.safetensors', 'start from these weights', text),
  resume: toggle(['--resume'], 'continue from the newest checkpoint in the out folder'),
  force: toggle(['--force'], 'run even when the estimated memory or disk exceeds what this machine has free'),
  child: one(['--child'], 'NAME', 'the inherit or prune declaration to run, by the child it makes', text),
  parent: one(['--parent'], 'CKPT', "the parent checkpoint (default: the spec's)", text),
  replay: one(['--replay'], 'provenance.json', 'apply a recorded selection to a sibling checkpoint, without the spec', text),
  tokenizer: one(['--tokenizer'], 'tokenizer.json', "the parent's tokenizer", text),
  calibBatches: one(['--calib-batches'], 'N', 'calibration batches for data-driven selection', positiveInt),
  calibSeq: one(['--calib-seq'], 'N', 'calibration sequence length', positiveInt),
  guidance: one(['--guidance'], 'S', 'the classifier-free guidance scale, >= 0', nonNegativeNumber),
  classes: one(['--classes'], '0,1,...', 'the class ids to draw, one grid row each', intList),
  count: one(['--count'], 'K', 'images per class', positiveInt),
  noReuse: toggle(['--no-reuse'], "run every step in full, ignoring the sample block's feature reuse"),
  judge: one(['--judge'], 'SPEC', 'classify every sample with the classifier this spec trains', text),
  judgeModel: one(['--judge-model'], 'NAME', 'the judge model (default: the one the judge spec trains)', text),
  judgeWeights: one(['--judge-weights'], 'W', "the judge's weights (default: runs/<model>/model.safetensors)", text),
  tensors: one(['--tensors'], 'FILE', 'also write the raw samples and their requested labels as safetensors (`samples`, `labels`)', text),
  list: toggle(['--list'], 'list the benchmarks and exit'),
  port: one(['--port'], 'N', 'the localhost port to serve on (default 5170; 0: any free one)', nonNegativeInt),
  noOpen: toggle(['--no-open'], 'do not open the page in a browser; only print its address'),
  stdio: toggle(['--stdio'], 'talk over standard input and output (the default and only transport; editors pass it)'),
} satisfies Record<string, FlagSpec>;

export type Flags = typeof FLAGS;
export type FlagName = keyof Flags;

/** What `parseFlags` gives for a flag: a switch's boolean, a value or undefined, a repeat's list. */
export type FlagValue<F> = F extends RepeatFlag<infer T> ? T[] : F extends ValueFlag<infer T> ? T | undefined : boolean;
/** The values a command gets: those of its required flags (R) are never undefined. */
export type FlagValues<K extends FlagName, R extends K = never> = { [P in K]: P extends R ? NonNullable<FlagValue<Flags[P]>> : FlagValue<Flags[P]> };

/** A command's positional arguments: e.g. `FILE` (1..1), `[FILE]` (0..1), `FILE...` (1..∞). */
export interface Positionals {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** `-` is a positional meaning standard input (cli/io.ts STDIN_ARG); elsewhere it is an unknown option. */
  readonly stdin?: true;
}

/** What a command takes, and the paragraph its --help prints. */
export interface CommandSpec<K extends FlagName, R extends K = never> {
  readonly name: string;
  readonly about: string;
  readonly args: Positionals;
  readonly flags: readonly K[];
  /** Flags that must be given; shown without brackets in the usage line. */
  readonly required?: readonly R[];
  /** A command's own value placeholder (`-o DIR` where the table says `PATH`). */
  readonly placeholders?: { readonly [P in NoInfer<K>]?: string };
}

/** The flag values a command's body gets, from its spec: `SpecValues<typeof SPEC>`. */
export type SpecValues<S> = S extends CommandSpec<infer K, infer R> ? FlagValues<K, R> : never;

/** Declares a command's spec, inferring the flags it takes from `flags`. */
export const commandSpec = <K extends FlagName, R extends K = never>(spec: CommandSpec<K, R>): CommandSpec<K, R> => spec;

/** A command from its spec and its body: --help prints the generated help; the body gets typed values. */
export function command<K extends FlagName, R extends K = never>(spec: CommandSpec<K, R>, body: (parsed: Parsed<K, R>, io: Io) => Promise<number>): Command {
  return async (args, io) => {
    const parsed = parseFlags(args, spec);
    if (parsed === HELP) {
      io.out(helpText(spec));
      return EXIT.ok;
    }
    return body(parsed, io);
  };
}

export interface Parsed<K extends FlagName, R extends K = never> {
  flags: FlagValues<K, R>;
  args: string[];
}

/** Returned by `parseFlags` when the command line asks for help (`--help` or `-h` anywhere). */
export const HELP = Symbol('help');

const flagOf = (k: FlagName): FlagSpec => FLAGS[k] as FlagSpec;

function placeholder<K extends FlagName, R extends K>(spec: CommandSpec<K, R>, k: K): string {
  const f = flagOf(k);
  return f.kind === 'switch' ? '' : (spec.placeholders?.[k] ?? f.value);
}

/** The flag as the usage line shows it: `--json`, `--seed S`, `-o DIR`. */
function flagWord<K extends FlagName, R extends K>(spec: CommandSpec<K, R>, k: K): string {
  const f = flagOf(k);
  return f.kind === 'switch' ? f.names[0] : `${f.names[0]} ${placeholder(spec, k)}`;
}

const isRequired = <K extends FlagName, R extends K>(spec: CommandSpec<K, R>, k: K): boolean =>
  (spec.required as readonly K[] | undefined)?.includes(k) === true;

/** The usage line: `usage: scion NAME ARGS [--flag V]... `, required flags unbracketed. */
export function usageLine<K extends FlagName, R extends K>(spec: CommandSpec<K, R>): string {
  const { name, min, max } = spec.args;
  const args = max === 0 ? '' : min === 0 ? (max === 1 ? `[${name}]` : `[${name}...]`) : max === 1 ? name : `${name}...`;
  const parts = [`usage: scion ${spec.name}`, ...(args === '' ? [] : [args])];
  for (const k of spec.flags) {
    const f = flagOf(k);
    const word = flagWord(spec, k);
    const more = f.kind === 'repeat' ? '...' : '';
    parts.push(isRequired(spec, k) ? `${word}${more}` : `[${word}]${more}`);
  }
  return `${parts.join(' ')}${spec.args.stdin === true ? `   (${name} - reads standard input)` : ''}`;
}

/** --help: the usage line, the command's paragraph, and one line per flag from the table. */
export function helpText<K extends FlagName, R extends K>(spec: CommandSpec<K, R>): string {
  const keys: FlagName[] = [...spec.flags, 'help'];
  const left = keys.map((k) => {
    const f = flagOf(k);
    const value = f.kind === 'switch' ? '' : ` ${placeholder(spec, k as K)}`;
    return `${f.names.join(', ')}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  const rows = keys.map((k, i) => `  ${(left[i] as string).padEnd(width)}  ${flagOf(k).help}`);
  return `${usageLine(spec)}\n\n${spec.about.trim()}\n\noptions:\n${rows.join('\n')}\n`;
}

/** A usage error: one line naming the problem, then the command's usage line. */
export function usageError<K extends FlagName, R extends K>(spec: CommandSpec<K, R>, problem: string): UsageError {
  return new UsageError(`${problem}\n${usageLine(spec)}`);
}

/**
 * Reads `args` against what `spec` declares: typed flag values and the positional arguments, or
 * HELP when `--help`/`-h` appears as a flag. Throws a UsageError (unknown flag, missing or bad
 * value, a flag given twice, too few or too many arguments, a required flag missing).
 *
 * @example parseFlags(['a.scion', '--seed', '3'], { name: 'x', about: '', args: { name: 'FILE', min: 1, max: 1 }, flags: ['seed'] })
 * // { flags: { seed: 3 }, args: ['a.scion'] }
 */
export function parseFlags<K extends FlagName, R extends K = never>(args: readonly string[], spec: CommandSpec<K, R>): Parsed<K, R> | typeof HELP {
  const bySpelling = new Map<string, K>();
  for (const k of spec.flags) for (const n of flagOf(k).names) bySpelling.set(n, k);
  const takesNext = (f: FlagSpec, next: string | undefined): boolean =>
    f.kind !== 'switch' && next !== undefined && (f.kind === 'value' && f.raw === true ? true : !next.startsWith('--'));

  // Help first, so `scion x --bogus --help` still helps; values (`--prompt -h`) are not flags.
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--help' || a === '-h') return HELP;
    const k = bySpelling.get(a);
    if (k !== undefined && takesNext(flagOf(k), args[i + 1])) i++;
  }

  const values = new Map<K, unknown>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const k = bySpelling.get(a);
    if (k === undefined) {
      if (a.startsWith('-') && !(a === '-' && spec.args.stdin === true)) {
        const guess = nearest(a, bySpelling.keys());
        throw usageError(spec, `unknown option '${a}'${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
      }
      positionals.push(a);
      continue;
    }
    const f = flagOf(k);
    if (f.kind !== 'repeat' && values.has(k)) throw usageError(spec, `${a} is given more than once`);
    if (f.kind === 'switch') {
      values.set(k, true);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || !takesNext(f, next)) throw usageError(spec, `${a} needs a value`);
    i++;
    let v: unknown;
    try {
      v = f.parse(next, a);
    } catch (error) {
      if (error instanceof UsageError) throw usageError(spec, error.message);
      throw error;
    }
    if (f.kind === 'repeat') values.set(k, [...((values.get(k) as unknown[] | undefined) ?? []), v]);
    else values.set(k, v);
  }

  const { name, min, max } = spec.args;
  if (positionals.length < min)
    throw usageError(spec, positionals.length === 0 ? `no ${name.toLowerCase()} given` : `expected at least ${min} ${name}, got ${positionals.length}`);
  if (positionals.length > max)
    throw usageError(spec, max === 0 ? `unexpected argument '${positionals[0]}'` : `expected at most ${max} ${name}, got ${positionals.length}`);
  for (const k of spec.flags) if (isRequired(spec, k) && !values.has(k)) throw usageError(spec, `${flagWord(spec, k)} is required`);

  const flags: Record<string, unknown> = {};
  for (const k of spec.flags) {
    const f = flagOf(k);
    flags[k] = values.get(k) ?? (f.kind === 'switch' ? false : f.kind === 'repeat' ? [] : undefined);
  }
  return { flags: flags as FlagValues<K, R>, args: positionals };
}
