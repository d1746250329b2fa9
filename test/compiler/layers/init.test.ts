// The one initializer table (compiler/layers/init.ts INITIALIZERS): it covers exactly the library's
// init names, and what a user layer's `param … = NAME(…)` and inherit's `init = NAME` draw comes
// from it, with the formulas torch uses.

import { describe, expect, it } from 'vitest';
import { INITIALIZERS, PARAM_INIT_NAMES, paramInit } from '../../../compiler/layers/init.ts';
import { LIBRARY, type LibraryName } from '../../../grammar/library/signatures.ts';
import { lower } from '../lower/helpers.ts';

const userParam = (shape: string, init: string) =>
  lower(`layer L(x) {\n  param w: f32[${shape}] = ${init}\n  return x\n}\nmodel M() {\n  input x: f32[2, 4]\n  output y = L(x) as l\n}\n`, 'M').params[0]?.init;

describe('INITIALIZERS', () => {
  it("has one entry per library initializer, and the parameter ones in the library's order", () => {
    const names = (Object.keys(LIBRARY) as LibraryName[]).filter((k) => LIBRARY[k].context === 'init');
    expect(Object.keys(INITIALIZERS).sort()).toEqual([...names].sort());
    expect(PARAM_INIT_NAMES).toEqual(['zeros', 'ones', 'normal', 'xavier_uniform', 'kaiming_uniform']);
  });

  it('gives torch fans: [out, in, k, k] → fan_in = in·k², fan_out = out·k²', () => {
    expect(paramInit('xavier_uniform', [2, 3, 3, 3])).toEqual({ dist: 'uniform', bound: Math.sqrt(6 / (27 + 18)), rule: 'xavier_uniform' });
    expect(paramInit('kaiming_uniform', [3, 4])).toEqual({ dist: 'uniform', bound: 1 / 2, rule: 'kaiming_uniform(a=√5)' });
    expect(paramInit('normal', [3, 4])).toEqual({ dist: 'normal', std: 0.02, rule: 'normal(0.02)' });
    expect(paramInit('pissa', [3, 4])).toBeUndefined();
  });

  it("is what a user layer's param statement lowers to", () => {
    expect(userParam('3, 4', 'normal(std = 0.01)')).toEqual({ dist: 'normal', std: 0.01, rule: 'normal(0.01)' });
    expect(userParam('3, 4', 'xavier_uniform()')).toEqual(paramInit('xavier_uniform', [3, 4]));
    expect(userParam('4', 'ones()')).toEqual({ dist: 'ones', rule: 'ones' });
    expect(() => userParam('3, 4', 'gaussian()')).toThrow("'gaussian' initializes adapters, not a layer's params");
  });

  it("gives LoRA's A and B: PEFT's default is kaiming-uniform A and zero B", () => {
    const rule = INITIALIZERS.zeros.lora;
    expect(rule === 'none' ? undefined : rule({ inF: 16, rank: 4, weight: 'q.weight' }, {})).toEqual({
      a: { dist: 'uniform', bound: 1 / 4, rule: 'kaiming_uniform(a=√5)' },
      b: { dist: 'zeros', rule: 'zeros' },
    });
  });
});
