// The inheritance job's shared types: what a caller gives it (InheritContext), what planning
// decides (InheritPlan), what writing leaves (InheritOutput), and the data-driven scoring the
// scorers provide (DataScoring). In a file of their own so the stages import types, not the job.

import type { InheritDecl, Program } from '../../grammar/ast.ts';
import type { LoweredModel } from '../../compiler/lower/lower-model.ts';
import type { BpeTokenizer } from '../../runtime/tokenizer/index.ts';
import type { Provenance } from './write/provenance.ts';
import type { CheckpointTensorPlan } from './write/checkpoint.ts';
import type { UnitChoice } from './write/plan.ts';
import type { PrunedModel } from './prune/prune.ts';
import type { UnitRule } from './select/choose.ts';
import type { DataRef, InheritSpec, UnitRuleSpec } from './spec/spec-fields.ts';
import type { Dense } from './tensor-ops.ts';

/** Data-driven scores (taylor, activation, learned mask, block influence, drop-one), when available. */
export interface DataScoring {
  layerScores(kind: 'block_influence' | 'drop_one', calib: DataRef | undefined): Promise<Float64Array>;
  /** `targets`: the child's unit count per parent group key (see groupTargets), for learned masks. */
  unitRule(kind: 'dim' | 'heads' | 'ffn' | 'channels', rule: Extract<UnitRuleSpec, { kind: 'metric' }>, targets: ReadonlyMap<string, number>): UnitRule;
}

export interface InheritContext {
  readonly programs: readonly Program[];
  readonly decl: InheritDecl;
  /** Resolves relative paths in the spec (checkpoint, tokenizer, corpus files). */
  readonly cwd: string;
  /** Overrides the declaration's `at` path. */
  readonly parentPath?: string;
  readonly log?: (line: string) => void;
  /** Given the lowered parent and a Scion-space reader, data-driven scoring (default: the reference interpreter on calibration text). */
  readonly dataScoring?: (parent: LoweredModel, read: (path: string) => Promise<Dense>) => DataScoring;
  /** A `prune` declaration's rules and child (see pruneContext); `decl` is then synthesized from it. */
  readonly pruned?: PrunedModel;
  /** Overrides every calibration source's `batches` (keeps tests and quick runs fast). */
  readonly calibBatches?: number;
  /** Overrides the calibration window length (default: the sources' `seq`, else the parent's ctx). */
  readonly calibSeq?: number;
  /** The parent's tokenizer.json for calibration text (default: beside the parent checkpoint, else the spec's `compress(tokenizer)`). */
  readonly tokenizerPath?: string;
}

export interface InheritPlan {
  readonly spec: InheritSpec;
  readonly parent: LoweredModel;
  readonly child: LoweredModel;
  readonly plans: CheckpointTensorPlan[];
  readonly layers?: number[];
  readonly choices: ReadonlyMap<string, UnitChoice>;
  readonly vocab?: { tokenizer: BpeTokenizer; newToOld: number[]; coverage: number };
  /** Child tensors left out because they equal another (tied head → embedding). */
  readonly tied: Map<string, string>;
}

export interface InheritOutput {
  readonly dir: string;
  readonly files: string[];
  readonly tensors: number;
  readonly bytes: number;
  readonly provenance: Provenance;
}
