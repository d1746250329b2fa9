// The .scion grammar as a chevrotain CstParser (error recovery on). Rules mirror docs/language.md.
//
// Expressions are one flat rule, `operand (BinaryOp operand)*`; to-ast.ts resolves precedence.
// That keeps the parser's recursion to a few rules per bracket level, so the depth cap in parse.ts
// (MAX_NESTING brackets) bounds the stack. Sub-rules wrap every repeated alternative
// (`postfixOp`, `stmt`, `topItem`) because a CST groups children by name and would otherwise lose
// their interleaved order.

import { CstParser, type CstNode, type IOrAlt, type IToken, type TokenType } from 'chevrotain';
import * as T from './lexer.ts';
import { errorMessages } from './messages.ts';

class ScionParser extends CstParser {
  /**
   * Each OR's alternatives, built once: under tsx (keepNames) every arrow in an object literal
   * costs a defineProperty call, which made rebuilding them per invocation dominate parse time.
   */
  private readonly altCache: IOrAlt<unknown>[][] = [];
  private alts(id: number, make: () => IOrAlt<unknown>[]): IOrAlt<unknown>[] {
    return (this.altCache[id] ??= make());
  }

  constructor() {
    super(T.ALL_TOKENS, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: 'onlyOffset', errorMessageProvider: errorMessages });
    this.performSelfAnalysis();
  }

  /**
   * Called with each top-level item as soon as it is parsed, so the caller can turn it into AST
   * and drop its CST: a whole file's CST is about 40 KB per small model, which for a 10 MB spec
   * was gigabytes held at once (issue 19).
   */
  onTopItem: ((item: CstNode) => void) | undefined;

  // ── top level ──

  program = this.RULE('program', () => {
    this.MANY(() => {
      const item = this.SUBRULE(this.topItem);
      this.ACTION(() => this.onTopItem?.(item));
    });
  });

  topItem = this.RULE('topItem', () => {
    this.OR({
      DEF: this.alts(0, () => [
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.layerDecl) },
        { ALT: () => this.SUBRULE(this.letDecl) },
        { ALT: () => this.SUBRULE(this.inheritDecl) },
        { ALT: () => this.SUBRULE(this.pruneDecl) },
        { ALT: () => this.SUBRULE(this.adapterDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
        { ALT: () => this.SUBRULE(this.sampleDecl) },
      ]),
      ERR_MSG: 'a declaration (`model`, `layer`, `let`, `import`, `inherit`, `prune`, `adapter`, `train` or `sample`)',
    });
    this.OPTION(() => this.CONSUME(T.Semi));
  });

  importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit);
  });

  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.SUBRULE(this.name);
    this.OR(
      this.alts(1, () => [
        {
          ALT: () => {
            this.CONSUME(T.Equals);
            this.SUBRULE2(this.name, { LABEL: 'base' });
            this.SUBRULE(this.argList);
          },
        },
        {
          ALT: () => {
            this.OPTION(() => this.SUBRULE(this.paramList));
            this.OPTION2(() => {
              this.CONSUME(T.Preset);
              this.SUBRULE3(this.name, { LABEL: 'preset' });
            });
            this.SUBRULE(this.block);
          },
        },
      ]),
    );
  });

  layerDecl = this.RULE('layerDecl', () => {
    this.CONSUME(T.Layer);
    this.SUBRULE(this.name);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.SUBRULE(this.block);
  });

  letDecl = this.RULE('letDecl', () => {
    this.CONSUME(T.Let);
    this.SUBRULE(this.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  inheritDecl = this.RULE('inheritDecl', () => {
    this.CONSUME(T.Inherit);
    this.SUBRULE(this.name);
    this.CONSUME(T.From);
    this.SUBRULE2(this.name, { LABEL: 'parent' });
    this.CONSUME(T.At);
    this.CONSUME(T.StringLit);
    this.SUBRULE(this.fieldBlock);
  });

  pruneDecl = this.RULE('pruneDecl', () => {
    this.CONSUME(T.Prune);
    this.SUBRULE(this.name);
    this.OPTION(() => {
      this.CONSUME(T.To);
      this.SUBRULE2(this.name, { LABEL: 'to' });
    });
    this.SUBRULE(this.fieldBlock);
  });

  adapterDecl = this.RULE('adapterDecl', () => {
    this.CONSUME(T.Adapter);
    this.SUBRULE(this.name);
    this.CONSUME(T.On);
    this.SUBRULE2(this.name, { LABEL: 'on' });
    this.SUBRULE(this.fieldBlock);
  });

  trainDecl = this.RULE('trainDecl', () => {
    this.CONSUME(T.Train);
    this.SUBRULE(this.name);
    this.SUBRULE(this.fieldBlock);
  });

  sampleDecl = this.RULE('sampleDecl', () => {
    this.CONSUME(T.Sample);
    this.SUBRULE(this.name);
    this.SUBRULE(this.fieldBlock);
  });

  fieldBlock = this.RULE('fieldBlock', () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.SUBRULE(this.field);
      this.OPTION(() => this.SUBRULE(this.sep));
    });
    this.CONSUME(T.RCurly);
  });

  field = this.RULE('field', () => {
    this.SUBRULE(this.key);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  key = this.RULE('key', () => {
    this.OR({
      DEF: this.alts(2, () => [{ ALT: () => this.SUBRULE(this.name) }, { ALT: () => this.CONSUME(T.StringLit) }]),
      ERR_MSG: 'a key (a name or a string)',
    });
  });

  sep = this.RULE('sep', () => {
    this.OR(this.alts(3, () => [{ ALT: () => this.CONSUME(T.Comma) }, { ALT: () => this.CONSUME(T.Semi) }]));
  });

  paramList = this.RULE('paramList', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.param);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  param = this.RULE('param', () => {
    this.SUBRULE(this.name);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  // ── statements ──

  block = this.RULE('block', () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.SUBRULE(this.stmt);
      this.OPTION(() => this.CONSUME(T.Semi));
    });
    this.CONSUME(T.RCurly);
  });

  stmt = this.RULE('stmt', () => {
    this.OR({
      DEF: this.alts(4, () => [
        { ALT: () => this.SUBRULE(this.inputStmt) },
        { ALT: () => this.SUBRULE(this.outputStmt) },
        { ALT: () => this.SUBRULE(this.repeatStmt) },
        { ALT: () => this.SUBRULE(this.requireStmt) },
        { ALT: () => this.SUBRULE(this.paramStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.assignStmt) },
      ]),
      ERR_MSG: 'a statement (`NAME = …`, `input`, `output`, `repeat`, `require`, `param` or `return`)',
    });
  });

  inputStmt = this.RULE('inputStmt', () => {
    this.CONSUME(T.Input);
    this.SUBRULE(this.name);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
  });

  outputStmt = this.RULE('outputStmt', () => {
    this.CONSUME(T.Output);
    this.SUBRULE(this.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  repeatStmt = this.RULE('repeatStmt', () => {
    this.CONSUME(T.Repeat);
    this.SUBRULE(this.name);
    this.CONSUME(T.In);
    this.SUBRULE(this.expr);
    this.SUBRULE(this.block);
  });

  requireStmt = this.RULE('requireStmt', () => {
    this.CONSUME(T.Require);
    this.SUBRULE(this.expr);
    this.OPTION(() => {
      this.CONSUME(T.Comma);
      this.CONSUME(T.StringLit);
    });
  });

  paramStmt = this.RULE('paramStmt', () => {
    this.CONSUME(T.Param);
    this.SUBRULE(this.name);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expr);
  });

  letStmt = this.RULE('letStmt', () => {
    this.CONSUME(T.Let);
    this.SUBRULE(this.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  assignStmt = this.RULE('assignStmt', () => {
    this.SUBRULE(this.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  tensorType = this.RULE('tensorType', () => {
    this.SUBRULE(this.name);
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.items);
    this.CONSUME(T.RBracket);
  });

  // ── expressions ──

  expr = this.RULE('expr', () => {
    this.SUBRULE(this.operand);
    this.MANY(() => {
      this.CONSUME(T.BinaryOp);
      this.SUBRULE2(this.operand);
    });
  });

  operand = this.RULE('operand', () => {
    this.MANY(() => this.CONSUME(T.PrefixOp));
    this.SUBRULE(this.primary);
    this.MANY2(() => this.SUBRULE(this.postfixOp));
  });

  postfixOp = this.RULE('postfixOp', () => {
    this.OR(
      this.alts(5, () => [
        { ALT: () => this.SUBRULE(this.argList) },
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.SUBRULE(this.name);
          },
        },
        { ALT: () => this.SUBRULE(this.index) },
        {
          ALT: () => {
            this.CONSUME(T.As);
            this.SUBRULE(this.path);
          },
        },
        { ALT: () => this.CONSUME(T.Frozen) },
      ]),
    );
  });

  index = this.RULE('index', () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.expr);
    this.CONSUME(T.RBracket);
  });

  path = this.RULE('path', () => {
    this.SUBRULE(this.name);
    this.MANY(() => this.SUBRULE(this.pathSeg));
  });

  pathSeg = this.RULE('pathSeg', () => {
    this.OR(
      this.alts(6, () => [
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.SUBRULE(this.name);
          },
        },
        { ALT: () => this.SUBRULE(this.index) },
      ]),
    );
  });

  primary = this.RULE('primary', () => {
    this.OR({
      DEF: this.alts(7, () => [
        { ALT: () => this.CONSUME(T.NumberLit) },
        { ALT: () => this.CONSUME(T.StringLit) },
        { ALT: () => this.CONSUME(T.True) },
        { ALT: () => this.CONSUME(T.False) },
        { ALT: () => this.SUBRULE(this.name) },
        { ALT: () => this.SUBRULE(this.paren) },
        { ALT: () => this.SUBRULE(this.list) },
        { ALT: () => this.SUBRULE(this.record) },
      ]),
      ERR_MSG: 'an expression',
    });
  });

  paren = this.RULE('paren', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.items);
    this.CONSUME(T.RParen);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.items);
    this.CONSUME(T.RBracket);
  });

  /** `a, b, c` with an optional trailing comma; the comma count tells `(a)` from `(a,)`. */
  items = this.RULE('items', () => {
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
  });

  record = this.RULE('record', () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.SUBRULE(this.recordField);
      this.OPTION(() => this.SUBRULE(this.sep));
    });
    this.CONSUME(T.RCurly);
  });

  recordField = this.RULE('recordField', () => {
    this.SUBRULE(this.key);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  argList = this.RULE('argList', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.SUBRULE(this.name);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expr);
  });

  name = this.RULE('name', () => {
    this.CONSUME(T.Name);
  });
}

let instance: ScionParser | undefined;

/** The one parser instance: chevrotain's self-analysis is costly, so it runs once per process. */
export function scionParser(): ScionParser {
  instance ??= new ScionParser();
  return instance;
}

export type { ScionParser };
export type { IToken, TokenType };
