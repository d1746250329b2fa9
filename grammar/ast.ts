// The one AST both front ends (.scion text and YAML) produce and every check reads.
// Positions are 1-based line/column plus a 0-based UTF-16 offset into the file's text.
//
// Design: declarations that configure something (inherit, prune, adapter, train, sample) are an
// ordered list of `key = expr` fields; which keys each kind accepts, and what value kind each
// takes, is declared once in `grammar/schema/fields.ts` (which also generates the JSON Schema).

export interface Pos {
  line: number; // 1-based
  col: number; // 1-based, in UTF-16 code units
  offset: number; // 0-based
}

export interface Span {
  file: string;
  start: Pos;
  end: Pos; // exclusive
}

// ───────────────────────────── expressions ─────────────────────────────

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '**' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | 'when'; // `Small when t > 600` — a guarded alternative (sampler model switching)

export type UnaryOp = '-' | '!';

/** A numeric literal keeps its source text (`2k`, `1e-4`) so formatting never rewrites it. */
export interface NumLit {
  kind: 'num';
  value: number;
  text: string;
  isInt: boolean;
  span: Span;
}
export interface StrLit {
  kind: 'str';
  value: string;
  span: Span;
}
export interface BoolLit {
  kind: 'bool';
  value: boolean;
  span: Span;
}

/** One step of a path: `.name` or `[index]`. The first segment of a Ref is always a name. */
export type PathSeg = { kind: 'name'; name: string; span: Span } | { kind: 'index'; index: Expr; span: Span };

/** `h`, `teacher.logits`, `layers[i].self_attn`, `brown.train`. */
export interface Ref {
  kind: 'ref';
  path: PathSeg[];
  span: Span;
}

export interface Arg {
  name?: string;
  nameSpan?: Span;
  value: Expr;
  span: Span;
}
export interface Call {
  kind: 'call';
  callee: Expr;
  args: Arg[];
  span: Span;
}

export interface Binary {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  span: Span;
}
export interface Unary {
  kind: 'unary';
  op: UnaryOp;
  arg: Expr;
  span: Span;
}
export interface Tuple {
  kind: 'tuple';
  items: Expr[];
  span: Span;
} // (0.9, 0.95)
export interface List {
  kind: 'list';
  items: Expr[];
  span: Span;
} // [0, 2, 5]
export interface Range {
  kind: 'range';
  start: Expr;
  end: Expr;
  span: Span;
} // 0..depth (end exclusive)

export interface RecordField {
  key: string;
  keySpan: Span;
  value: Expr;
  span: Span;
}
export interface RecordExpr {
  kind: 'record';
  fields: RecordField[];
  span: Span;
} // { count = 2, sample = 0.5 }

/** `expr as layers[i].mlp` — names the parameters a layer call creates. */
export interface Named {
  kind: 'named';
  value: Expr;
  path: Ref;
  span: Span;
}

/** `Llama frozen` — a model whose parameters receive no gradient. */
export interface Frozen {
  kind: 'frozen';
  model: Expr;
  span: Span;
}

/** `i32[batch, ctx]` — a tensor type; only in `input` and `param` statements. */
export interface TensorType {
  kind: 'ttype';
  dtype: DType;
  dtypeSpan: Span;
  shape: Expr[];
  span: Span;
}

export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'bool'];

export type Expr = NumLit | StrLit | BoolLit | Ref | Call | Binary | Unary | Tuple | List | Range | RecordExpr | Named | Frozen;

// ───────────────────────────── statements (model and layer bodies) ─────────────────────────────

/**
 * Comments survive formatting and YAML conversion: full-line comments directly above a statement,
 * field or declaration are its `leading` lines; a comment at the end of its (first) line is its
 * `trailing` comment. Text excludes the `//` and one following space.
 */
export interface Commented {
  leading?: string[];
  trailing?: string;
}

export interface Ident {
  name: string;
  span: Span;
}

export interface InputStmt extends Commented {
  kind: 'input';
  name: Ident;
  type: TensorType;
  span: Span;
}
export interface LetStmt extends Commented {
  kind: 'let';
  name: Ident;
  value: Expr;
  span: Span;
}
export interface OutputStmt extends Commented {
  kind: 'output';
  name: Ident;
  value: Expr;
  span: Span;
}
export interface RepeatStmt extends Commented {
  kind: 'repeat';
  var: Ident;
  range: Expr;
  body: Stmt[];
  span: Span;
}
/** `require dim % heads == 0, "message"` — a constraint checked when the model is instantiated. */
export interface RequireStmt extends Commented {
  kind: 'require';
  cond: Expr;
  message?: StrLit;
  span: Span;
}
/** `param weight: f32[dim] = ones()` — only inside `layer` bodies. */
export interface ParamStmt extends Commented {
  kind: 'param';
  name: Ident;
  type: TensorType;
  init?: Expr;
  span: Span;
}

/** `return expr` — the value of a `layer`; exactly one, last in its body. */
export interface ReturnStmt extends Commented {
  kind: 'return';
  value: Expr;
  span: Span;
}

export type Stmt = InputStmt | LetStmt | OutputStmt | RepeatStmt | RequireStmt | ParamStmt | ReturnStmt;

// ───────────────────────────── declarations ─────────────────────────────

export interface Param {
  name: Ident;
  default?: Expr;
  span: Span;
}

export type Preset = 'llama' | 'gpt2' | 'dit' | 'unet';
export const PRESETS: readonly Preset[] = ['llama', 'gpt2', 'dit', 'unet'];

/** `model Llama(vocab = 4096, dim = 256) preset llama { … }` */
export interface ModelDecl extends Commented {
  kind: 'model';
  name: Ident;
  params: Param[];
  preset?: Ident;
  body: Stmt[];
  span: Span;
}

/** `model Tiny = Llama(dim = 192, depth = 4)` */
export interface DerivedModelDecl extends Commented {
  kind: 'derived';
  name: Ident;
  base: Ident;
  args: Arg[];
  span: Span;
}

/** `layer SwiGLU(x, hidden) { param …  return … }` — a user layer, same primitives as the library. */
export interface LayerDecl extends Commented {
  kind: 'layer';
  name: Ident;
  params: Param[];
  body: Stmt[]; // params, lets, requires and a final `return`
  span: Span;
}

/** `let calib = brown(split = "calib", batches = 8)` — a named value usable by later declarations. */
export interface BindingDecl extends Commented {
  kind: 'binding';
  name: Ident;
  value: Expr;
  span: Span;
}

export interface Field extends Commented {
  key: string;
  keySpan: Span;
  value: Expr;
  span: Span;
}

/** `inherit Tiny from Llama at "runs/parent/model.safetensors" { … }` */
export interface InheritDecl extends Commented {
  kind: 'inherit';
  child: Ident;
  parent: Ident;
  at: StrLit;
  fields: Field[];
  span: Span;
}
/** `prune UNet to Small { … }` — `to` names the pruned model; without it the model is pruned in place. */
export interface PruneDecl extends Commented {
  kind: 'prune';
  model: Ident;
  to?: Ident;
  fields: Field[];
  span: Span;
}
/** `adapter Genre on Llama { … }` */
export interface AdapterDecl extends Commented {
  kind: 'adapter';
  name: Ident;
  on: Ident;
  fields: Field[];
  span: Span;
}
/** `train Tiny { … }` */
export interface TrainDecl extends Commented {
  kind: 'train';
  target: Ident;
  fields: Field[];
  span: Span;
}
/** `sample Small { … }` */
export interface SampleDecl extends Commented {
  kind: 'sample';
  target: Ident;
  fields: Field[];
  span: Span;
}

export type ConfigDecl = InheritDecl | PruneDecl | AdapterDecl | TrainDecl | SampleDecl;
export type ConfigKind = ConfigDecl['kind'];
export type Decl = ModelDecl | DerivedModelDecl | LayerDecl | BindingDecl | ConfigDecl;

export interface Import extends Commented {
  path: StrLit;
  span: Span;
}

export interface Program {
  file: string;
  imports: Import[];
  decls: Decl[]; // in source order
  /** Comments at the top of the file, separated from what follows by a blank line (a file header). */
  header?: string[];
  /** Comments after the last declaration. */
  trailingComments?: string[];
}
