// What a layer or function rule sees of one call: its bound arguments (tensors as IR nodes,
// everything else as constants), its parameter path, the builder, and a `param` that registers a
// parameter with its shape and family init. Rules stay pure descriptions of the math.

import type { Span } from '../../grammar/ast.ts';
import type { LIBRARY, LibraryName } from '../../grammar/library/signatures.ts';
import type { GraphBuilder } from '../ir/builder.ts';
import type { Node } from '../ir/graph.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { elementCount, orThrow, parameterTotal } from '../../grammar/eval/integers.ts';
import { expectBool, expectInt, expectInts, expectNumber, expectString, showValue, type Value } from '../lower/values.ts';
import { resolveInit, type Family, type Init, type InitTag, type Role } from './init.ts';

export interface ParamInfo {
  /** Stable Scion path: `layers.3.self_attn.q_proj.weight`. */
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: 'f32';
  readonly init: Init;
  readonly trainable: boolean;
  /** The `as` path of the layer call that created it. */
  readonly layer: string;
  readonly span: Span;
}

export type ArgValue = { kind: 'tensor'; node: Node } | { kind: 'const'; value: Value };

/** Collects parameters across every call of one model. */
export class ParamRegistry {
  readonly list: ParamInfo[] = [];
  private readonly byPath = new Map<string, ParamInfo>();
  constructor(
    readonly b: GraphBuilder,
    readonly family: Family,
  ) {}

  /** Parameters so far, bounded by MAX_PARAMETERS (E0510) before any weight is allocated. */
  private total = 0;

  add(info: ParamInfo): Node {
    if (this.byPath.has(info.path)) throw new LowerError('E0608', `two layers create the parameter '${info.path}'`, info.span);
    this.total += orThrow(elementCount(info.shape, `parameter \`${info.path}\``, info.span));
    const tooMany = parameterTotal(this.total, info.path, info.span);
    if (tooMany !== undefined) throw tooMany;
    this.byPath.set(info.path, info);
    this.list.push(info);
    return this.b.param(info.path, info.shape, 'f32', { trainable: info.trainable });
  }
}

export class CallCtx {
  constructor(
    readonly b: GraphBuilder,
    readonly callee: string,
    readonly args: ReadonlyMap<string, ArgValue>,
    readonly rest: readonly Node[],
    readonly span: Span,
    /** The layer's `as` path; undefined for functions. */
    readonly path: string | undefined,
    private readonly registry: ParamRegistry | undefined,
  ) {}

  get family(): Family {
    return this.registry?.family ?? 'torch';
  }

  /** A user error about this call's inputs (E0901). */
  fail(message: string): never {
    throw new LowerError('E0901', `${this.callee}: ${message}`, this.span);
  }

  private arg(name: string): ArgValue {
    const a = this.args.get(name);
    if (a === undefined) throw new LowerError('E0404', `${this.callee} needs the argument '${name}'`, this.span);
    return a;
  }

  tensor(name: string): Node {
    const a = this.arg(name);
    if (a.kind !== 'tensor') this.fail(`'${name}' must be a tensor, found ${showValue(a.value)}`);
    return a.node;
  }

  optTensor(name: string): Node | undefined {
    return this.args.has(name) ? this.tensor(name) : undefined;
  }

  private value(name: string): Value {
    const a = this.arg(name);
    if (a.kind !== 'const') this.fail(`'${name}' must be a constant, found a tensor`);
    return a.value;
  }

  int(name: string): number {
    return expectInt(this.value(name), `${this.callee}'s '${name}'`, this.span);
  }
  optInt(name: string): number | undefined {
    return this.args.has(name) ? this.int(name) : undefined;
  }
  num(name: string): number {
    return expectNumber(this.value(name), `${this.callee}'s '${name}'`, this.span);
  }
  bool(name: string): boolean {
    return expectBool(this.value(name), `${this.callee}'s '${name}'`, this.span);
  }
  str(name: string): string {
    return expectString(this.value(name), `${this.callee}'s '${name}'`, this.span);
  }
  ints(name: string): number[] {
    return expectInts(this.value(name), `${this.callee}'s '${name}'`, this.span);
  }

  /** Registers `<path>.<name>` with its family init and returns its IR node. */
  param(name: string, shape: readonly number[], role: Role, tag?: InitTag): Node {
    if (this.registry === undefined || this.path === undefined) throw new Error(`bug: ${this.callee} is a function and cannot create '${name}'`);
    for (const d of shape) if (!Number.isInteger(d) || d < 1) this.fail(`parameter '${name}' would have shape [${shape.join(', ')}]`);
    return this.registry.add({
      path: this.path === '' ? name : `${this.path}.${name}`,
      shape: [...shape],
      dtype: 'f32',
      init: resolveInit(this.registry.family, role, tag),
      trainable: true,
      layer: this.path,
      span: this.span,
    });
  }
}

/** The library's parameter-free tensor functions. */
export type FnName = { [K in LibraryName]: (typeof LIBRARY)[K]['context'] extends 'fn' ? K : never }[LibraryName];

/** A layer's lowering: build its math from the call's arguments, return the output node. */
export type LayerRule = (c: CallCtx) => Node;
/** A function's lowering (no parameters). */
export type FnRule = (c: CallCtx) => Node;

export function lastDim(n: Node): number {
  return n.shape[n.shape.length - 1] ?? 1;
}

/** `[d0, …, dk]` as text, for messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
