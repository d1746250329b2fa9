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
import { command, commandSpec, usageError } from '../flags.ts';
import { EXIT, readInput, STDIN_ARG, UsageError, whyUnreadable, writeTextAtomic } from '../io.ts';
import { absolute, checkOutputFile, refuseOwnInput } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'convert',
  about:
    "Converts a spec between the .scion language and the YAML form (docs/yaml.md). The target is the\nother form unless --to says otherwise (or OUT's extension does). Prints to stdout without -o.\nFILE - reads standard input; --from then says its form.",
  args: { name: 'FILE', min: 1, max: 1, stdin: true },
  flags: ['out', 'to', 'from'],
  placeholders: { out: 'OUT' },
});

const SCHEMA_FILE = fileURLToPath(new URL('../../schema/scion.schema.json', import.meta.url));

/** The modeline's schema path, relative to where the YAML lands (POSIX separators). */
function schemaPathFrom(dir: string): string {
  return relative(dir, SCHEMA_FILE).split(sep).join('/');
}

export const run = command(SPEC, async ({ flags: opts, args: [file = ''] }, io) => {
  if (file === STDIN_ARG && opts.from === undefined)
    throw usageError(SPEC, 'standard input has no extension to tell its form: add --from scion or --from yaml');
  const input = readInput(file, io);
  if (input === undefined) throw new UsageError(`cannot read '${file}': ${whyUnreadable(file, io)}`);
  if (opts.out !== undefined) {
    const out = absolute(io.cwd, opts.out);
    checkOutputFile(out, opts.out);
    refuseOwnInput(out, opts.out, [file === STDIN_ARG ? undefined : absolute(io.cwd, file)]);
  }
  const { name, text } = input;
  const from = opts.from ?? formOf(file);
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
});
