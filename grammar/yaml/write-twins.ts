// `npx tsx grammar/yaml/write-twins.ts`: writes the YAML twin of every example spec,
// specs/<name>.scion → specs/yaml/<name>.yaml. A test checks the twins are up to date and load to
// the same AST as their .scion originals.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProgram } from '../dsl/parse.ts';
import { printYaml } from './print.ts';

export const SPECS_DIR = fileURLToPath(new URL('../../specs/', import.meta.url));
export const TWINS_DIR = join(SPECS_DIR, 'yaml');
/** From specs/yaml/ to the schema. */
export const TWIN_SCHEMA_PATH = '../../schema/scion.schema.json';

/** The example specs' names (without `.scion`), sorted. */
export function exampleSpecs(): string[] {
  return readdirSync(SPECS_DIR)
    .filter((f) => f.endsWith('.scion'))
    .map((f) => f.slice(0, -'.scion'.length))
    .sort();
}

/** The YAML twin of specs/<name>.scion; throws if the example itself does not parse (a bug). */
export function twinText(name: string): string {
  const file = `${name}.scion`;
  const { program, diagnostics } = parseProgram(readFileSync(join(SPECS_DIR, file), 'utf8'), file);
  if (diagnostics.some((d) => d.severity === 'error')) throw new Error(`specs/${file} does not parse: ${diagnostics[0]!.message}`);
  // Imports name .scion files; the twin imports the twins.
  for (const imp of program.imports) imp.path = { ...imp.path, value: imp.path.value.replace(/\.scion$/, '.yaml') };
  return printYaml(program, { schemaPath: TWIN_SCHEMA_PATH });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(TWINS_DIR, { recursive: true });
  for (const name of exampleSpecs()) {
    writeFileSync(join(TWINS_DIR, `${name}.yaml`), twinText(name));
    process.stdout.write(`wrote specs/yaml/${name}.yaml\n`);
  }
}
