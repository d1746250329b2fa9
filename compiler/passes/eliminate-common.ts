// CSE: rebuilding through the hash-consing builder merges nodes that became equal after rewrites
// (two `x + 0` simplified to the same `x`, then their consumers).

import type { Graph } from '../ir/graph.ts';
import { rewriteGraph } from './rewrite.ts';

export function eliminateCommon(g: Graph): Graph {
  return rewriteGraph(g);
}
