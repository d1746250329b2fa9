// Every command's --help (and -h) exits 0 and lists exactly the flags its SPEC declares, with the
// table's help line; its usage line is the one usage errors print. No command declares two flags
// with the same spelling.

import { describe, expect, it } from 'vitest';
import { type CommandSpec, FLAGS, type FlagName, type FlagSpec, usageLine } from '../../cli/flags.ts';
import type { Io } from '../../cli/io.ts';
import { COMMANDS, main } from '../../cli/main.ts';

function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, cwd: process.cwd(), out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

async function specOf(name: string): Promise<CommandSpec<FlagName, FlagName>> {
  const mod = (await import(`../../cli/commands/${name}.ts`)) as { SPEC: CommandSpec<FlagName, FlagName> };
  return mod.SPEC;
}

describe.each(Object.keys(COMMANDS))('scion %s', (name) => {
  it('--help and -h list exactly the declared flags and exit 0', async () => {
    const spec = await specOf(name);
    expect(spec.name).toBe(name);
    const io = capture();
    expect(await main([name, '--help'], io)).toBe(0);
    expect(io.stderr).toBe('');
    const short = capture();
    expect(await main([name, '-h'], short)).toBe(0);
    expect(short.stdout).toBe(io.stdout);

    const [usage, ...rest] = io.stdout.split('\n');
    expect(usage).toBe(usageLine(spec));
    const options = rest.slice(rest.indexOf('options:') + 1).filter((l) => l !== '');
    const listed = options.map((l) => l.trim().split(/ {2,}/));
    const declared = [...spec.flags, 'help' as const].map((k) => FLAGS[k] as FlagSpec);
    expect(listed.map(([left]) => left?.split(' ')[0]?.replace(/,$/, ''))).toEqual(declared.map((f) => f.names[0]));
    expect(listed.map(([, help]) => help)).toEqual(declared.map((f) => f.help));
  });

  it('declares each spelling once', async () => {
    const spellings = (await specOf(name)).flags.flatMap((k) => (FLAGS[k] as FlagSpec).names);
    expect(new Set(spellings).size).toBe(spellings.length);
  });

  it('answers an unknown flag with one line and its usage, exit 2', async () => {
    const io = capture();
    expect(await main([name, '--no-such-flag'], io)).toBe(2);
    expect(io.stderr).toBe(`scion ${name}: unknown option '--no-such-flag'\n${usageLine(await specOf(name))}\n`);
  });
});

describe('flags that read the same in every command', () => {
  it.each([['train'], ['sample'], ['init'], ['generate']])('%s --seed NaN is a usage error with one message', async (name) => {
    const io = capture();
    expect(await main([name, 'specs/default.scion', '--seed', 'NaN'], io)).toBe(2);
    expect(io.stderr.split('\n')[0]).toBe(`scion ${name}: --seed takes an integer >= 0, got 'NaN'`);
  });

  it('generate --prompt takes text that looks like a flag, -h included', async () => {
    const io = capture();
    expect(await main(['generate', 'specs/default.scion', '--prompt', '-h', '--weights', 'no-such/model.safetensors'], io)).toBe(1);
    expect(io.stdout).toBe('');
    expect(io.stderr).toContain('scion generate: no weights at');
  });
});
