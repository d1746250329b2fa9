// Front-end throughput: a generated 10,000-line spec, parsed (and formatted) several times after a
// warm-up; prints the median ms and lines/ms per stage. No peer: `peer` is null in `scion bench`.
// Run alone with `npx tsx bench/parse-check.ts`.
//

import { pathToFileURL } from 'node:url';
import type { Program } from '../grammar/ast.ts';
import { checkDecls } from '../grammar/check/index.ts';
import { formatProgram } from '../grammar/dsl/format.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

export interface Stage {
  name: string;
  run(text: string, program: Program): unknown;
}

export const STAGES: Stage[] = [
  { name: 'parse', run: (text) => parseProgram(text, 'bench.scion') },
  { name: 'check', run: (_text, program) => checkDecls(program.decls) },
  { name: 'format', run: (_text, program) => formatProgram(program) },
];

/** A spec of about `lines` lines: model families with train/inherit/sample declarations. */
export function generateSpec(lines: number): string {
  const parts: string[] = ['let calib = brown(split = "calib", seq = 128, batches = 8)', ''];
  let count = parts.length;
  for (let i = 0; count < lines; i++) {
    const block = [
      `// family ${i}`,
      `model Llama${i}(vocab = 4096, dim = 256, depth = 8, heads = 8, kv_heads = 4, ffn = 688, ctx = 128) preset llama {`,
      '  require dim % heads == 0, "dim must split evenly into heads"',
      '  input tokens: i32[batch, ctx]',
      '  h = Embedding(tokens, vocab, dim) as embed_tokens',
      '  repeat i in 0..depth {',
      '    h = h + Attention(RMSNorm(h) as layers[i].input_layernorm, heads, kv_heads = kv_heads, rope = true) as layers[i].self_attn',
      '    h = h + SwiGLU(RMSNorm(h) as layers[i].post_attention_layernorm, ffn) as layers[i].mlp',
      '  }',
      '  output logits = Linear(RMSNorm(h) as norm, vocab, bias = false) as lm_head',
      '}',
      '',
      `model Tiny${i} = Llama${i}(vocab = 2048, dim = 192, depth = 4)`,
      '',
      `inherit Tiny${i} from Llama${i} at "runs/parent${i}/model.safetensors" {`,
      '  layers = keep_ends(first = 1, last = 1)',
      '  heads = taylor(calib)',
      '  vocab = compress(tokenizer = "tok.json", corpus = brown(split = "train"), size = 2048)',
      '}',
      '',
      `train Tiny${i} {`,
      '  data = brown(split = "train", seq = 128)',
      `  teacher = Llama${i} frozen`,
      '  loss = cross_entropy(logits, next(tokens)) + 0.5 * kd(logits, teacher.logits, T = 2)',
      '  optimizer = adamw(lr = 3e-4, betas = (0.9, 0.95), weight_decay = 0.1)',
      '  steps = 1k',
      '  rounds = { count = 2, sample = 0.5, weight = softmax(loss) }',
      '}',
      '',
    ];
    parts.push(...block);
    count += block.length;
  }
  return parts.join('\n');
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface StageTiming {
  stage: string;
  ms: number;
  linesPerMs: number;
}

/** Median time of each stage over `runs` runs, after `warmup` untimed ones. */
export function timeStages(text: string, runs = 7, warmup = 2): StageTiming[] {
  const { program, diagnostics } = parseProgram(text, 'bench.scion');
  if (diagnostics.length > 0) throw new Error(`generated spec does not parse: ${diagnostics[0]!.message}`);
  const lines = text.split('\n').length;
  return STAGES.map((stage) => {
    for (let i = 0; i < warmup; i++) stage.run(text, program);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      stage.run(text, program);
      samples.push(performance.now() - t0);
    }
    const ms = median(samples);
    return { stage: stage.name, ms, linesPerMs: lines / ms };
  });
}

export const benchmarks: Benchmark[] = [
  {
    name: 'parse-check',
    description: 'front end on a generated 10,000-line spec: median ms per stage (no peer)',
    needsGpu: false,
    async run(): Promise<BenchResult[]> {
      const text = generateSpec(10_000);
      return timeStages(text).map((t) => result(`${t.stage}-10k-lines`, 'ms', t.ms, null, 'no peer', false));
    },
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = generateSpec(10_000);
  const lines = text.split('\n').length;
  console.log(`spec: ${lines} lines, ${text.length} characters`);
  for (const t of timeStages(text)) console.log(`${t.stage.padEnd(8)} ${t.ms.toFixed(1).padStart(8)} ms  ${t.linesPerMs.toFixed(1).padStart(8)} lines/ms`);
}
