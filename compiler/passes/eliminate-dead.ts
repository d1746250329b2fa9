// DCE: drops nodes no output depends on and renumbers the rest densely.

import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';

export function eliminateDead(g: Graph): Graph {
  return GraphBuilder.from(g).builder.build({ prune: true });
}
