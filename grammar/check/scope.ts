// Lexical scopes of bodies and fields. A model body is one flat scope (lets made inside a
// `repeat` stay visible after it, as taps), with one child scope per repeat for its variable.

import type { Span } from '../ast.ts';
import type { Value } from './eval.ts';

export type NameKind =
  | 'param' // model parameter (a constant)
  | 'lparam' // layer parameter (tensor or constant, unknown until called)
  | 'input'
  | 'let'
  | 'output'
  | 'repeat' // repeat variable (an int)
  | 'tensor-param' // `param` statement in a layer body
  | 'binding' // top-level `let`
  | 'tap' // a tap of the trained model, seen from a loss
  | 'data'; // a data field (`label`), `loss` in rounds, `t` in switch

export interface NameInfo {
  kind: NameKind;
  span?: Span;
  value?: Value;
}

/** Names whose value is a tensor (used to say "found `h`, a tensor"). */
export const TENSOR_KINDS: ReadonlySet<NameKind> = new Set(['input', 'let', 'output', 'tensor-param', 'tap']);

export const KIND_WORD: Record<NameKind, string> = {
  param: 'a model parameter',
  lparam: 'a layer parameter',
  input: 'an input',
  let: 'a `let`',
  output: 'an output',
  repeat: 'a repeat variable',
  'tensor-param': 'a `param`',
  binding: 'a top-level `let`',
  tap: 'a tap',
  data: 'a data field',
};

export class Scope {
  private readonly names = new Map<string, NameInfo>();

  /**
   * @param parent enclosing scope
   * @param transparent definitions go to the parent (repeat scopes hold only their variable)
   * @param onRead called for every successful lookup (to find unused lets and parameters)
   */
  constructor(
    private readonly parent?: Scope,
    private readonly transparent = false,
    private readonly onRead?: (name: string, info: NameInfo) => void,
  ) {}

  get(name: string): NameInfo | undefined {
    return this.names.get(name) ?? this.parent?.get(name);
  }

  /** Looks a name up and records the read. */
  read(name: string): NameInfo | undefined {
    const own = this.names.get(name);
    if (own !== undefined) {
      this.onRead?.(name, own);
      this.parent?.notify(name, own);
      return own;
    }
    return this.parent?.read(name);
  }

  private notify(name: string, info: NameInfo): void {
    this.onRead?.(name, info);
    this.parent?.notify(name, info);
  }

  define(name: string, info: NameInfo): void {
    if (this.transparent && this.parent !== undefined) this.parent.define(name, info);
    else this.names.set(name, info);
  }

  /** Defines in this very scope (a repeat variable). */
  defineHere(name: string, info: NameInfo): void {
    this.names.set(name, info);
  }

  allNames(): string[] {
    return [...new Set([...this.names.keys(), ...(this.parent?.allNames() ?? [])])];
  }

  /** The constants visible here, for constant evaluation. */
  consts(): Map<string, Value> {
    const out = this.parent?.consts() ?? new Map<string, Value>();
    for (const [k, v] of this.names) if (v.value !== undefined) out.set(k, v.value);
    return out;
  }
}
