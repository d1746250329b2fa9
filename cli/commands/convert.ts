// `scion convert FILE [-o OUT] [--to scion|yaml] [--from scion|yaml]`: converts a spec between the
// .scion language and the YAML form (FILE `-` is standard input, whose form --from names). Both read to the same AST, so .scion → YAML → .scion gives the canonical
// (`scion fmt`) text of the original, comments included. Input errors print as diagnostics and
// exit 1; nothing is written then.

import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDiagnostics } from '../../grammar/diagnostics/render.ts';
import { formatProgram } from '../../grammar/dsl/format.ts';
import { formOf, loadSource, type SpecForm } from '../../grammar/load.ts';
import { yamlProblems } from '../../grammar/yaml/expressible.ts';
import { printYaml } from '../../grammar/yaml/print.ts';
import { EXIT, parseForm, readInput, STDIN_ARG, UsageError, writeTextAtomic, type Command, type Io } from '../io.ts';

const HELP = `usage: scion convert FILE [-o OUT] [--to scion|yaml] [--from scion|yaml]

Converts a spec between the .scion language and the YAML form (docs/yaml.md). The target is the
other form unless --to says otherwise (or OUT's extension does). Prints to stdout without -o.
FILE - reads standard input; --from then says its form.

  -o, --out OUT   write the result to OUT
  --to FORM       scion or yaml
  --from FORM     scion or yaml: the input's form (default: by FILE's extension)
`;

const SCHEMA_FILE = fileURLToPath(new URL('../../schema/scion.schema.json', import.meta.url));

interface Options {
  file: string;
  out?: string;
  to?: SpecForm;
  from?: SpecForm;
}

function parseArgs(args: string[]): Options | 'help' {
  let file: string | undefined;
  let out: string | undefined;
  let to: SpecForm | undefined;
  let from: SpecForm | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value\n\n${HELP}`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '-o' || a === '--out') out = value();
    else if (a === '--to') to = parseForm(value(), '--to');
    else if (a === '--from') from = parseForm(value());
    else if (a.startsWith('-') && a !== STDIN_ARG) throw new UsageError(`unknown option '${a}'\n\n${HELP}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`convert takes one FILE\n\n${HELP}`);
  }
  if (file === undefined) throw new UsageError(`no file given\n\n${HELP}`);
  if (file === STDIN_ARG && from === undefined) throw new UsageError('standard input has no extension to tell its form: add --from scion or --from yaml');
  const opts: Options = { file };
  if (from !== undefined) opts.from = from;
  if (out !== undefined) opts.out = out;
  if (to !== undefined) opts.to = to;
  return opts;
}

/** The modeline's schema path, relative to where the YAML lands (POSIX separators). */
function schemaPathFrom(dir: string): string {
  return relative(dir, SCHEMA_FILE).split(sep).join('/');
}

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  const opts = parseArgs(args);
  if (opts === 'help') {
    io.out(HELP);
    return EXIT.ok;
  }
  const input = readInput(opts.file, io);
  if (input === undefined) throw new UsageError(`cannot read '${opts.file}': no such file`);
  const { name, text } = input;
  const from = opts.from ?? formOf(opts.file);
  const to: SpecForm = opts.to ?? (opts.out !== undefined && formOf(opts.out) !== from ? formOf(opts.out) : from === 'yaml' ? 'scion' : 'yaml');
  const sources = new Map([[name, text]]);

  const { program, diagnostics } = loadSource(text, name, from);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const problems = errors.length === 0 && to === 'yaml' ? yamlProblems(program) : [];
  if (errors.length > 0 || problems.length > 0) {
    io.err(renderDiagnostics(errors.length > 0 ? errors : problems, sources));
    return EXIT.inputError;
  }

  const outPath = opts.out === undefined ? undefined : isAbsolute(opts.out) ? opts.out : resolve(io.cwd, opts.out);
  const result = to === 'yaml' ? printYaml(program, { schemaPath: schemaPathFrom(outPath === undefined ? io.cwd : dirname(outPath)) }) : formatProgram(program);
  if (outPath === undefined) io.out(result);
  else await writeTextAtomic(outPath, result);
  return EXIT.ok;
};
