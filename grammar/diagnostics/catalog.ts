// Every diagnostic code, with the one-line doc that docs/diagnostics.md shows.
// Ranges: E01xx lexing and parsing, E02xx YAML, E03xx names, E04xx calls and values,
// E05xx shapes and dimensions, E06xx inheritance, prune and adapters, E07xx training and sampling,
// E08xx checkpoints and files (pre-flight), E09xx lowering with concrete sizes, W….. warnings.

export interface CodeInfo {
  readonly severity: 'error' | 'warning';
  readonly title: string;
  readonly doc: string;
}

const e = (title: string, doc: string): CodeInfo => ({ severity: 'error', title, doc });
const w = (title: string, doc: string): CodeInfo => ({ severity: 'warning', title, doc });

export const DIAGNOSTICS = {
  E0101: e('unexpected character', 'A character that no token of the language starts with.'),
  E0102: e('unterminated string', 'A string literal runs to the end of its line without a closing quote.'),
  E0103: e('syntax error', 'The parser expected one construct and found another; the message names both.'),
  E0104: e('invalid number', 'A numeric literal that cannot be read, such as `1e` or `2kk`.'),
  E0105: e('invalid escape', 'A string escape other than \\" \\\\ \\n \\t \\r or \\u{HEX} (1 to 6 hex digits, at most 10FFFF).'),
  E0106: e('nesting too deep', 'Brackets nest more than 100 levels deep, or an expression tree more than 200; split the expression with `let`.'),
  E0107: e('not a name path', 'Only a name path can take `.field` or `[index]`: `layers[i].mlp` is fine, `f(x)[0]` is not.'),
  E0108: e('too many errors', 'Parsing stopped reporting after 100 errors; fix the first ones and run again.'),
  E0109: e(
    'name outside ASCII',
    'A name with a character outside ASCII (an accented or non-Latin letter, a combining mark, a zero-width joiner, an emoji); names are `[A-Za-z_][A-Za-z0-9_]*`. The message names the character as U+XXXX.',
  ),
  E0110: e(
    'unclosed bracket',
    'A `(`, `[` or `{` that is never closed: another closing bracket or the end of the file comes first. Reported at the bracket left open.',
  ),

  // ── E02xx the YAML form (grammar/yaml) ──
  E0201: e(
    'YAML syntax error',
    "The text is not well-formed YAML (bad indentation, an unclosed bracket or quote, a duplicate key); the message is the YAML reader's, except for a duplicate key, which names the key and the line it was first set on.",
  ),
  E0202: e('YAML input too large', 'A YAML spec over 1 MiB, or one scalar or comment over 16 KiB, is refused before it is read.'),
  E0203: e('YAML nesting too deep', 'Brackets nest more than 64 levels, or a line is indented more than 128 columns; a spec never needs that much.'),
  E0204: e(
    'too many YAML aliases',
    'Aliases (`*name`) would expand to more than 100 nodes: the shape of an alias bomb. Write the values out instead. Also a document of more than 200,000 values, however written.',
  ),
  E0205: e('several YAML documents', 'A YAML spec is one document; a second `---` starts another, which is refused.'),
  E0206: e(
    'YAML tag or directive',
    'Explicit tags (`!!binary`, `!foo`) and directives (`%YAML`, `%TAG`) are not part of the YAML form: values are plain numbers, booleans, strings, lists and maps.',
  ),
  E0207: e('unknown YAML key', 'A key that this declaration or statement does not accept (schema/scion.schema.json); the nearest accepted key is suggested.'),
  E0208: e('wrong YAML value type', 'A value of the wrong YAML type, such as a number where a list of strings is expected; the message names both.'),
  E0209: e('missing YAML key', 'A declaration or statement lacks a key its form needs, such as `value` in a `let` or `body` in a `model`.'),
  E0210: e('missing or unsupported version', 'The document must start with `scion: 1`, the version of the YAML form it is written in.'),
  E0211: e(
    'unknown declaration or statement',
    'A list item has none of the keys that say what it is (`model`, `let`, `train`, …; in bodies `input`, `let`, `output`, …).',
  ),
  E0212: e('invalid tensor type', 'A YAML `type` must read `DTYPE[dim, …]`, such as `i32[batch, ctx]` (an unknown dtype is E0502).'),
  E0213: e(
    'invalid argument list',
    'The `args` of a derived model must be a map of named arguments or a string holding an argument list, such as `"2048, dim = 192"`.',
  ),
  E0214: e('not expressible in YAML', 'The spec uses a form the YAML form has no place for: a non-literal value in a string field, or one field set twice.'),

  // ── E03xx names (grammar/check) ──
  E0301: e('undefined name', 'A reference to a name that no parameter, input, `let`, repeat variable or declaration in scope defines.'),
  E0302: e('duplicate declaration', 'Two top-level declarations (model, layer, let, adapter, prune target) share one name, possibly across imported files.'),
  E0303: e('unknown callable', 'A call to a name that is neither a library callable (grammar/library/signatures.ts) nor a user `layer`.'),
  E0304: e('duplicate parameter', 'A model or layer lists the same parameter name twice.'),
  E0305: e('duplicate binding', 'An input, output or `param` is defined twice in one body, or a `let` rebinds an input, output, parameter or `param`.'),
  E0306: e('repeat variable shadows a name', 'A `repeat` variable reuses a name already bound in scope.'),
  E0307: e('unknown model', 'A name in a model position (inherit, prune, adapter, train, sample, teacher, base, switch) that no declaration defines.'),
  E0308: e('not a model', 'A name in a model position that is declared, but as a layer, `let` or adapter.'),
  E0309: e('callable used as a value', 'A layer or function named without calling it, where a tensor is expected.'),
  E0310: e('unknown tap', 'A loss refers to a name that is not an input, output or `let` of the trained model, nor a data field.'),
  E0311: e('unknown teacher or base tap', '`teacher.NAME` or `base.NAME` where that model has no input, output or `let` called NAME.'),
  E0312: e('teacher or base not declared', '`teacher.NAME` or `base.NAME` is used but the `train` declaration has no `teacher` or `base` field.'),
  E0313: e('not callable', 'A call whose callee is a value (an input, `let` or parameter) rather than a layer or function.'),
  E0314: e(
    'recursive definition',
    'A derived model whose base chain leads back to it, or a layer that calls itself directly or through other layers; the message lists the cycle.',
  ),
  E0330: e('import not found', 'An `import` names a file that does not exist (paths are relative to the importing file).'),
  E0331: e('import cycle', 'Files import each other in a cycle; the message lists the chain.'),
  E0332: e('duplicate import', 'The same file is imported twice by one file.'),

  // ── E04xx calls and values ──
  E0401: e('too many arguments', 'A call passes more positional arguments than the callable has parameters.'),
  E0402: e('unknown argument name', 'A named argument that the callable does not declare.'),
  E0403: e('argument given twice', 'The same parameter is passed twice, by name or by position and name.'),
  E0404: e('missing argument', 'A required argument (one without a default) is not passed.'),
  E0405: e('positional after named', 'A positional argument follows a named one; positional arguments come first.'),
  E0406: e('wrong argument kind', 'An argument literal of the wrong kind: a string where an int is expected, a fraction where an int is expected, and so on.'),
  E0407: e(
    'callable in the wrong place',
    'A callable used where its kind does not belong: a loss in a model body, a layer in a loss, a sampler as an optimizer.',
  ),
  E0408: e('unknown field', 'A configuration declaration sets a field that its kind does not accept (grammar/schema/fields.ts).'),
  E0409: e('missing field', 'A configuration declaration lacks a required field.'),
  E0410: e('duplicate field', 'A field is set twice in one declaration or record.'),
  E0411: e('wrong field value kind', 'A field value of the wrong kind: a number where a string is expected, a call where a list of patterns is expected.'),
  E0412: e('value out of range', 'A value outside its valid range: a learning rate ≤ 0, a rate outside [0, 1], a step count < 1.'),
  E0413: e('unknown model argument', 'A derived model (`model Tiny = Llama(…)`) sets a parameter its base model does not declare.'),
  E0414: e('model parameter without default', 'Every model parameter needs a default value, so the model describes one concrete network.'),
  E0415: e(
    'not a constant',
    'A value that must be known when checking (a model parameter, a repeat range, a shape) refers to something that is not a constant.',
  ),
  E0416: e('unknown record key', 'A record (`{ every = 100, … }`) has a key that its field does not accept.'),

  // ── E05xx model bodies, shapes and dimensions ──
  E0501: e('requirement failed', "A `require` condition is false for the model's parameter values; the note shows the values."),
  E0502: e('unknown dtype', 'An input or `param` type names a dtype other than f32, f16, bf16, i32 or bool.'),
  E0503: e('model without output', 'A model body declares no `output`.'),
  E0504: e('invalid repeat range', 'A `repeat` range must be `start..end` with integer bounds and start ≤ end.'),
  E0505: e('invalid shape dimension', 'A tensor type dimension must be a positive integer or a symbolic name.'),
  E0506: e('requirement is not a condition', 'A `require` expression evaluates to a number or string instead of true or false.'),
  E0507: e('layer return', 'A `layer` body must end with exactly one `return`.'),
  E0508: e('statement not allowed here', '`param` and `return` belong in layer bodies, `input` and `output` in model bodies.'),
  E0509: e(
    'tensor too large',
    'An input, `param` or layer parameter with more than 2^31 - 1 elements, or a layer size argument above that: more than one typed array holds.',
  ),
  E0510: e('model too large', 'A model with more than 2^40 parameters (4.4 TB of f32 weights): surely a mistake in a size.'),
  E0511: e(
    'intermediate value too large',
    'A value the model computes (attention scores batch × heads × ctx × ctx, a broadcast, a product) with more than 2^31 - 1 elements: no typed array holds it.',
  ),

  // ── E06xx inheritance, prune and adapters ──
  E0601: e('unknown preset', 'A model `preset` other than the known naming families (llama, gpt2, dit, unet).'),
  E0602: e('empty checkpoint path', 'An `inherit … at ""` with an empty path.'),
  E0603: e('pattern matches nothing', 'An `except` or adapter `targets` pattern matches no parameter path of the model.'),
  E0604: e('malformed pattern', 'A parameter path pattern with an empty segment or a character other than letters, digits, `_`, `.` and `*`.'),
  E0605: e(
    'layer index out of range',
    'An explicit layer list names a layer the parent does not have, names one twice, is not in ascending order, or keeps a different number of layers than the child has.',
  ),
  E0606: e('keep_ends out of range', '`keep_ends(first, last)` needs first + last ≤ child depth ≤ parent depth.'),
  E0607: e('inherit from itself', 'A model cannot inherit its own weights.'),
  E0608: e('duplicate parameter path', 'Two layer calls get the same `as` path (after unrolling `repeat`s), so their parameters would collide.'),
  E0609: e('malformed parameter path', 'An `as` path must start with a name, and its indices must evaluate to non-negative integers.'),
  E0610: e('`as` on a call without parameters', '`as` names the parameters of a layer; a function or value has none to name.'),
  E0611: e(
    'argument does not apply',
    "An inherit argument that would be ignored: a metric's `ratio` or `size` (the child model sets its sizes; they apply in `prune`), or `init` with no `except`.",
  ),
  E0612: e(
    'selection cannot make the child',
    "The child's size on an axis (layers, width, heads, FFN, channels, vocabulary) cannot be selected from the parent's as declared: larger than the parent's, changed with no rule, or an index list out of range, repeated, unsorted or of the wrong length.",
  ),

  // ── E07xx training and sampling ──
  E0701: e('train target not trainable', '`train` names something other than a model or an adapter.'),
  E0702: e('teacher or base not frozen', 'A `teacher` or `base` must be written `Model frozen`: its weights receive no gradient.'),
  E0703: e('sample target not a model', '`sample` names something other than a model.'),
  E0704: e('invalid switch', '`switch` is a list of `Model when condition` entries ending with one unguarded model.'),
  E0705: e('unknown cache tap', 'A `cache(tap)` names no `as` path or tap of the sampled model.'),
  E0706: e('duplicate train or sample', 'Two `train` (or two `sample`) declarations for the same target.'),

  // ── E08xx checkpoints and files (pre-flight: jobs/inherit/spec/preflight.ts reads headers only) ──
  E0801: e(
    'invalid inheritance value',
    'An `inherit` field whose value cannot be used: a layer list that is not integers, a `compress` without a tokenizer path, a `blocks` entry that is not a string.',
  ),
  E0802: e(
    'unreadable parent checkpoint',
    "The parent checkpoint (or its config.json) exists but its header cannot be read: the message gives the reader's reason.",
  ),
  E0803: e(
    'checkpoint does not match the parent',
    "The parent checkpoint's tensors differ from what the declared parent model has: a missing or unexpected tensor, or another shape.",
  ),
  E0804: e('layer index past the checkpoint', 'A kept layer index is not below the number of layers the parent checkpoint holds.'),
  E0805: e(
    'heads cannot be selected',
    "The child's heads cannot be cut from the parent's: heads not divisible by kv heads, another head width, neither the kv heads nor the group size kept, or a head list that splits a KV group.",
  ),
  E0806: e('vocabulary id past the embedding', "A kept token id, or the tokenizer's vocabulary, reaches past the rows of the parent's embedding."),
  E0807: e('tied weights would be untied', 'The parent ties its LM head to the token embedding, but `except` reinitializes only one of the two.'),
  E0808: e('child not producible', 'The selection cannot produce a child tensor: no parent tensor for it, or the kept indices give another shape.'),

  // ── E09xx lowering with concrete sizes (compiler/lower) ──
  E0901: e(
    'layer input shape',
    'A layer, function or loss gets a tensor whose rank or size it cannot take once sizes are numbers: Linear of a scalar, Attention of a 2-D tensor, heads that do not divide the width, `kd` of student and teacher logits over different vocabularies. `scion check` reports the loss cases at the loss term.',
  ),
  E0902: e('shapes do not broadcast', 'Two tensors combined with + - * / have shapes that do not broadcast (numpy rules); the message shows both shapes.'),
  E0903: e('unknown tap path', 'A tap requested on the command line (`--tap PATH`) names no `let`, output or layer path of the model.'),
  E0904: e(
    'not supported yet',
    'The spec uses a loss, data source or training feature this version of Scion cannot run yet; the message names it and the spec line.',
  ),
  E0905: e(
    'invalid training setup',
    'A `train` declaration cannot be lowered with concrete sizes: a loss that is not a scalar, targets whose shape does not match the logits, a tap or data field that does not exist.',
  ),

  // ── warnings ──
  W0001: w('unused let', 'A `let` in a model body that nothing reads: not the body, not a loss, not a cache.'),
  W0002: w('unused binding', 'A top-level `let` that no declaration uses.'),
  W0003: w('unused model parameter', 'A model parameter that the body never reads.'),
  W0004: w(
    'weights never initialized',
    'A frozen teacher/base, adapted model or sampled model that nothing trains, inherits or prunes: its weights stay random.',
  ),
  W0005: w('empty repeat', 'A `repeat` whose range is empty; its body never runs.'),
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof DIAGNOSTICS;

/** Whether a string is a catalog code (for data read from outside, e.g. JSON). */
export function isCode(code: string): code is Code {
  return Object.hasOwn(DIAGNOSTICS, code);
}
