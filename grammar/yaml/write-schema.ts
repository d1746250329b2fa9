// `npm run schema`: writes schema/scion.schema.json from grammar/yaml/schema.ts. A test checks
// the committed file is up to date, so editors never validate against a stale schema.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { schemaText } from './schema.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/scion.schema.json', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
