// `scion check FILE... [--json]`: parse, resolve imports and check each spec; print every
// diagnostic (text with source excerpts, or one JSON object). FILE `-` is standard input, named
// `<stdin>` in diagnostics. Exit 0 when there are no errors (warnings allowed), 1 when there are,
// 2 for a bad command line.

import { checkSource } from '../../grammar/check/check-source.ts';
import { checkLowered } from '../../compiler/lower/check-lowered.ts';
import { preflightProgram } from '../../jobs/inherit/spec/preflight.ts';
import type { Diagnostic } from '../../grammar/diagnostics/diagnostic.ts';
import { countSeverities, renderDiagnostics, toJson } from '../../grammar/diagnostics/render.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT, fileReader, readInput, STDIN_ARG, whyUnreadable } from '../io.ts';

export const SPEC = commandSpec({
  name: 'check',
  about:
    'Checks specs (.scion or .yaml) and the files they import; prints every error and warning.\nStandard input is read as .scion unless --from yaml says otherwise.',
  args: { name: 'FILE', min: 1, max: Infinity, stdin: true },
  flags: ['json', 'from'],
});

export const run = command(SPEC, async ({ flags: { json, from: form }, args: files }, io) => {
  const read = fileReader(io.cwd);
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const missing: string[] = [];
  for (const file of files) {
    const input = readInput(file, io);
    if (input === undefined) {
      missing.push(file);
      continue;
    }
    const r = checkSource(input.text, input.name, read, form === undefined || file !== STDIN_ARG ? {} : { form });
    for (const [k, v] of r.sources) sources.set(k, v);
    all.push(...r.diagnostics);
    // Pre-flight against parent checkpoints that already exist (headers only), once the spec is clean;
    // then what only lowering knows: sizes, and loss operands whose shapes cannot match.
    if (countSeverities(r.diagnostics).errors === 0) {
      const program = { file: input.name, imports: [], decls: r.decls };
      all.push(...(await preflightProgram([program], { cwd: io.cwd })));
      all.push(...checkLowered(program));
    }
  }
  if (missing.length > 0 && !json) {
    for (const m of missing) io.err(`scion check: cannot read '${m}': ${whyUnreadable(m, io)}\n`);
  }
  const { errors, warnings } = countSeverities(all);
  const ok = errors === 0 && missing.length === 0;
  if (json) {
    io.out(`${JSON.stringify({ ok, diagnostics: toJson(all), files, missing, errors: errors + missing.length, warnings })}\n`);
  } else if (all.length > 0) {
    io.out(renderDiagnostics(all, sources, { color: io.isTty && process.env.NO_COLOR === undefined }));
  } else if (missing.length === 0) {
    io.out(`${files.join(', ')}: no problems\n`);
  }
  return ok ? EXIT.ok : EXIT.inputError;
});
