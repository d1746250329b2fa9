// The `scion` command: dispatches to cli/commands/<name>.ts, each exporting `run: Command`.

import { knownFailure, unexpectedFailure } from './failures.ts';
import { EXIT, processIo, UsageError, type Io, type Command } from './io.ts';

/** Every command, with its one-line help. Each is implemented in cli/commands/<name>.ts. */
export const COMMANDS: Record<string, string> = {
  check: 'check specs and report every error with its location (--json)',
  fmt: 'print a spec in canonical form (--write to rewrite the file, --check to test)',
  convert: 'convert a spec between .scion and YAML (-o OUT)',
  explain: 'per-layer parameters, shapes, FLOPs and memory of a model (--json)',
  init: "initialize a model's parameters into a safetensors file",
  inspect: 'list the tensors and metadata of a safetensors file (--json)',
  compile: 'compile a model (and its training step) into a WebGPU artifact',
  export: 'write a model (or its training step) as an ONNX model (--onnx)',
  inherit: 'build a child checkpoint from its parent as the spec declares',
  train: 'train a model as its spec declares (no spec: the default job)',
  eval: 'run a forward pass, or report validation loss/accuracy',
  generate: 'generate text from a trained language model',
  sample: 'draw images from a trained diffusion model',
  playground: 'serve a page that checks, explains and trains a spec in the browser (WebGPU)',
  lsp: 'a language server for editors over stdio (diagnostics, hover, definition, completion, formatting, rename)',
  bench: 'run the benchmarks in bench/ side by side with their peers',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, help]) => `  ${name.padEnd(width)}  ${help}`);
  return `usage: scion <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`scion <command> --help\` for a command's options.\n`;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    io.out('scion 0.1.0\n');
    return EXIT.ok;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.err(`scion: unknown command '${name}'\n\n${usage()}`);
    return EXIT.usage;
  }
  let run: Command;
  try {
    ({ run } = (await import(`./commands/${name}.ts`)) as { run: Command });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(`commands/${name}.ts`)) {
      io.err(`scion: '${name}' is not available in this version yet\n`);
      return EXIT.usage;
    }
    io.err(unexpectedFailure(name, error, process.env.SCION_DEBUG === '1'));
    return EXIT.inputError;
  }
  // The one error boundary: usage errors exit 2, failures the user can fix print one line and
  // exit 1 (cli/failures.ts), and anything else is a bug, reported without a stack unless asked.
  try {
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`scion ${name}: ${error.message}\n`);
      return EXIT.usage;
    }
    const known = knownFailure(error);
    if (known !== undefined) {
      io.err(known.endsWith('\n') ? known : `scion ${name}: ${known}\n`);
      return EXIT.inputError;
    }
    io.err(unexpectedFailure(name, error, process.env.SCION_DEBUG === '1'));
    return EXIT.inputError;
  }
}
