// Random draws (random_uniform, random_normal) computed on the host and fed to ONNX Runtime as
// inputs. Their ONNX form (compiler/codegen/onnx/onnx-random.ts) reproduces the reference's hash
// bit for bit but, with no bitwise ops in opset 17, spells each xor over 32 int64 bit columns: on
// LoRA dropout (specs/ba-lora.scion's eight [16, 128, 128] masks) those int64 ops were 96% of the
// session's kernel time (ORT profile of GenrePlain), and its step took 5.5 s of CPU against the
// reference's 1.1 s. The reference kernel draws the same 2.1M numbers in ~7 ms, so a draw whose
// operands are all graph inputs (the key: seed and counter) is cut out of the graph the session
// runs and computed before each run: the step now takes 0.17 s. A draw from a computed key keeps
// its ONNX form (none exists today).

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { CPU_KERNELS } from '../../runtime/cpu/kernels.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';

/** The input name a hoisted draw has in the session's graph (`%` never starts a Scion name). */
export const drawName = (id: number): string => `%draw${id}`;

export interface HostDraws {
  /** The graph ONNX Runtime runs: each hoisted draw replaced, id for id, by an input drawName(id). */
  readonly graph: Graph;
  /** The hoisted draws, nodes of the original graph. */
  readonly draws: readonly Node[];
  /** The inputs they read (the keys), which the session itself may no longer take. */
  readonly keys: ReadonlySet<string>;
  /** The draws' values (by drawName) from the values of the graph's inputs (by name). */
  values(lookup: (name: string) => Tensor | undefined): Map<string, Tensor>;
}

const isDraw = (n: Node): boolean => n.op === 'random_uniform' || n.op === 'random_normal';
const isSource = (n: Node): boolean => n.op === 'input' || n.op === 'param';

/** `graph` with its draws from graph inputs hoisted to the host (the graph itself when it has none). */
export function hoistDraws(graph: Graph): HostDraws {
  const draws = graph.nodes.filter((n) => isDraw(n) && n.dtype === 'f32' && n.inputs.every((i) => isSource(graph.nodes[i] as Node)));
  if (draws.length === 0) return { graph, draws, keys: new Set(), values: () => new Map() };
  const hoisted = new Set(draws.map((n) => n.id));
  // Same ids, so every operand reference and output stays valid; a key read by nothing else is left dangling, which export prunes.
  const nodes = graph.nodes.map(
    (n): Node =>
      // Every attr an input carries (the builder checks them when export rewrites the graph: fold-batch-sums.ts).
      hoisted.has(n.id)
        ? { id: n.id, op: 'input', inputs: [], attrs: { name: drawName(n.id), shape: n.shape, dtype: n.dtype }, dtype: n.dtype, shape: n.shape }
        : n,
  );
  return {
    graph: { nodes, outputs: graph.outputs },
    draws,
    keys: new Set(draws.flatMap((n) => n.inputs.map((i) => (graph.nodes[i] as Node).attrs['name'] as string))),
    values(lookup) {
      const out = new Map<string, Tensor>();
      for (const n of draws) {
        const inNodes = n.inputs.map((i) => graph.nodes[i] as Node);
        const ins = inNodes.map((s) => {
          const name = s.attrs['name'] as string;
          const t = lookup(name);
          if (t === undefined) throw new Error(`cpu backend: missing input '${name}' (${s.dtype}[${s.shape.join(',')}]), the key of a random draw`);
          return Float64Array.from(t.data);
        });
        // Straight into f32: a uniform has 24 bits (exact), a normal rounds once as the ONNX form's final Cast does.
        const data = CPU_KERNELS[n.op]({ node: n, ins, inNodes, feeds: new Map(), alloc: (k) => new Float32Array(k) });
        out.set(drawName(n.id), { dtype: 'f32', shape: [...n.shape], data: data as Float32Array });
      }
      return out;
    },
  };
}
