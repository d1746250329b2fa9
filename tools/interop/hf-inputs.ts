// Inputs for checking a Scion export against Hugging Face's own libraries (tools/interop/hf_check.py):
// Scion's token ids for a few texts (ids.json) and one [1, ctx] token batch (input.safetensors),
// written into DIR/hf-check/. DIR is an export folder: model.safetensors, config.json, tokenizer.json.
//
//   npx tsx tools/interop/hf-inputs.ts runs/TinyLlama [--ctx 64]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTokenizerJson } from '../../runtime/tokenizer/index.ts';
import { writeSafetensors } from '../../runtime/weights/index.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { ctx: { type: 'string', default: '64' } } });
const dir = positionals[0];
if (dir === undefined) throw new Error('usage: npx tsx tools/interop/hf-inputs.ts DIR [--ctx N]');
const ctx = Number(values.ctx);

// Plain prose, then bytes that exercise the byte-level pre-tokenizer (non-ASCII, runs of spaces, a tab).
const texts = [
  'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
  'It is not news that Nathan Milstein is a wizard of the violin; naïve café — 1,234.5 units!  Two  spaces\tand a tab.',
  'The jury said',
];
const tokenizer = await readTokenizerJson(join(dir, 'tokenizer.json'));
const ids = texts.map((t) => tokenizer.encode(t));
const out = join(dir, 'hf-check');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'ids.json'), JSON.stringify({ texts, ids }));
const first = ids[0] ?? [];
if (first.length === 0) throw new Error('the tokenizer produced no ids');
const row = Int32Array.from({ length: ctx }, (_, i) => first[i % first.length] as number);
await writeSafetensors(join(out, 'input.safetensors'), { tokens: { dtype: 'I32', shape: [1, ctx], data: row } });
console.log(`wrote ${join(out, 'ids.json')} and input.safetensors (tokens [1, ${ctx}])`);
