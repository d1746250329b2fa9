import { describe, expect, it } from 'vitest';
import { ExampleBatcher, LmBatcher, Prng } from '../../../runtime/data/index.ts';

/** xoshiro128** written from the reference C, in BigInt arithmetic masked to 32 bits. */
function referenceXoshiro(state: readonly number[], count: number): number[] {
  const M = 0xffffffffn;
  const s = state.map(BigInt);
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe('Prng', () => {
  it('is xoshiro128** (checked against a BigInt reference from several states)', () => {
    for (const state of [
      [1, 2, 3, 4],
      [0xffffffff, 0x80000000, 0x12345678, 0x9abcdef0],
    ] as const) {
      const p = Prng.fromState(state);
      expect(Array.from({ length: 50 }, () => p.nextU32())).toEqual(referenceXoshiro(state, 50));
    }
    // The reference generator's first output from state {1, 2, 3, 4}: rotl(2·5, 7)·9 = 11520.
    expect(Prng.fromState([1, 2, 3, 4]).nextU32()).toBe(11520);
  });

  it('is deterministic per seed, differs across seeds, and resumes from a saved state', () => {
    const a = new Prng(123);
    const b = new Prng(123);
    const c = new Prng(124);
    const xs = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(xs);
    const saved = a.getState();
    const next = Array.from({ length: 5 }, () => a.nextFloat());
    const resumed = Prng.fromState(JSON.parse(JSON.stringify(saved)) as [number, number, number, number]);
    expect(Array.from({ length: 5 }, () => resumed.nextFloat())).toEqual(next);
    expect(() => Prng.fromState([0, 0, 0, 0])).toThrow('not all zero');
  });

  it('nextInt is uniform and in range; permutation is a permutation', () => {
    const p = new Prng(9);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[p.nextInt(6)]!++;
    // Each of 6 buckets expects 10,000; 5 standard deviations (~456) is a safe band.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(460);
    expect([...p.permutation(100)].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < 20_000; i++) {
      const z = p.nextNormal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / 20_000)).toBeLessThan(0.05);
    expect(Math.abs(sq / 20_000 - 1)).toBeLessThan(0.05);
  });
});

describe('LmBatcher', () => {
  const tokens = Int32Array.from({ length: 101 }, (_, i) => i); // 0..100: 25 windows of seq 4 (+1)

  it('cuts [batch, seq+1] windows sharing one boundary token, each window once per epoch', () => {
    const b = new LmBatcher(tokens, 4, { batch: 5, seed: 1 });
    expect(b.windows).toBe(25);
    expect(b.batchesPerEpoch).toBe(5);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = b.next();
      expect(batch.length).toBe(25);
      for (let r = 0; r < 5; r++) {
        const row = [...batch.subarray(r * 5, r * 5 + 5)];
        // A window is 5 consecutive tokens starting at a multiple of 4.
        expect(row[0]! % 4).toBe(0);
        expect(row).toEqual([0, 1, 2, 3, 4].map((k) => row[0]! + k));
        starts.push(row[0]!);
      }
    }
    expect(starts.sort((x, y) => x - y)).toEqual([...Array(25).keys()].map((w) => 4 * w));
  });

  it('is deterministic, reshuffles each epoch, and resumes mid-epoch from its state', () => {
    const take = (b: LmBatcher, n: number) => Array.from({ length: n }, () => [...b.next()]);
    const a = take(new LmBatcher(tokens, 4, { batch: 5, seed: 7 }), 12);
    expect(take(new LmBatcher(tokens, 4, { batch: 5, seed: 7 }), 12)).toEqual(a);
    expect(a.slice(5, 10)).not.toEqual(a.slice(0, 5)); // epoch 2 has another order
    const b = new LmBatcher(tokens, 4, { batch: 5, seed: 7 });
    take(b, 7);
    const state = JSON.parse(JSON.stringify(b.getState())) as ReturnType<LmBatcher['getState']>;
    const c = new LmBatcher(tokens, 4, { batch: 5, seed: 999 });
    c.setState(state);
    expect(take(c, 5)).toEqual(a.slice(7, 12));
    const plain = new LmBatcher(tokens, 4, { batch: 5, seed: 7, shuffle: false });
    expect([...plain.next().subarray(0, 10)]).toEqual([0, 1, 2, 3, 4, 4, 5, 6, 7, 8]);
  });
});

describe('ExampleBatcher', () => {
  it('pairs each example with its label and drops the incomplete last batch', () => {
    // 7 examples of 2 features: example e = [e, 10e], label 100 + e.
    const x = Float32Array.from({ length: 14 }, (_, i) => (i % 2 === 0 ? i / 2 : 10 * ((i - 1) / 2)));
    const y = Int32Array.from({ length: 7 }, (_, e) => 100 + e);
    const b = new ExampleBatcher(x, y, { batch: 3, seed: 5 });
    expect(b.batchesPerEpoch).toBe(2);
    const seen: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { x: bx, y: by, indices } = b.next();
      indices.forEach((e, r) => {
        expect([bx[2 * r], bx[2 * r + 1], by[r]]).toEqual([e, 10 * e, 100 + e]);
        seen.push(e);
      });
    }
    expect(new Set(seen).size).toBe(6);
    expect(() => new ExampleBatcher(x, y, { batch: 8, seed: 1 })).toThrow('only 7 examples, fewer than one batch of 8');
  });
});
