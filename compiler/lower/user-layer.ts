// User `layer` declarations lower like library layers, from the same primitives: the body is
// instantiated per call (its params under the call's path), then lowered statement by statement.

import type { Node } from '../ir/graph.ts';
import type { ArgValue } from '../layers/context.ts';
import { fansOf, INITIALIZERS, resolveInit, type Init, type InitName, type Role } from '../layers/init.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { instantiateLayerBody, type Binding, type InstCall, type ParamStmtInstance } from '../../grammar/eval/instantiate.ts';
import type { Lowering } from './lower-model.ts';

function initOf(lowering: Lowering, p: ParamStmtInstance): Init {
  const fans = fansOf(p.shape);
  const { fanIn, fanOut } = fans;
  const weight: Role = { kind: 'weight', module: p.shape.length > 2 ? 'conv' : 'linear', fanIn, fanOut };
  if (p.init === undefined) return resolveInit(lowering.registry.family, p.shape.length >= 2 ? weight : { kind: 'norm_bias' });
  const num = (k: string): number => {
    const v = p.init?.args[k];
    if (typeof v !== 'number') throw new LowerError('E0406', `${p.init?.callee}'s '${k}' must be a number`, p.span);
    return v;
  };
  const rule = Object.hasOwn(INITIALIZERS, p.init.callee) ? INITIALIZERS[p.init.callee as InitName].param : 'none';
  if (rule === 'none') throw new LowerError('E0407', `'${p.init.callee}' initializes adapters, not a layer's params`, p.init.span);
  return rule(fans, Object.fromEntries(INITIALIZERS[p.init.callee as InitName].args.map((k) => [k, num(k)])));
}

export function lowerUserLayer(lowering: Lowering, call: InstCall, args: ReadonlyMap<string, ArgValue>): Node {
  const decl = call.user;
  const path = call.path;
  if (decl === undefined || path === undefined) throw new Error('bug: lowerUserLayer needs a user layer call with a path');
  const env = new Map<string, Binding>();
  for (const [name, a] of args) {
    if (a.kind === 'const') env.set(name, { kind: 'const', value: a.value });
    else {
      const id = `${path}::arg:${name}`;
      lowering.vars.set(id, a.node);
      env.set(name, { kind: 'tensor', id });
    }
  }
  const body = instantiateLayerBody(decl, env, lowering.instance.userLayers, path);
  const b = lowering.b;
  for (const p of body.params) {
    const node = b.withSpan(p.span, () =>
      lowering.registry.add({ path: `${path}.${p.name}`, shape: p.shape, dtype: 'f32', init: initOf(lowering, p), trainable: true, layer: path, span: p.span }),
    );
    lowering.vars.set(p.id, node);
  }
  for (const s of body.stmts) {
    const v = b.withSpan(s.span, () => lowering.expr(s.value));
    if (typeof v === 'number') throw new LowerError('E0415', `'${s.name}' must be a tensor here`, s.span);
    lowering.vars.set(s.id, v);
  }
  const out = lowering.expr(body.result);
  if (typeof out === 'number') throw new LowerError('E0415', `layer '${decl.name.name}' must return a tensor`, body.result.span);
  return out;
}
