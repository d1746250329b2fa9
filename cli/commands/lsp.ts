// `scion lsp [--stdio]`: a language server for editors over standard input and output. The
// server lives in lsp/ (thin over the checker, evaluator, `explain` and the formatter); this
// command only starts it. Nothing else may write to standard output while it runs.

import { serve } from '../../lsp/server.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT } from '../io.ts';

export const SPEC = commandSpec({
  name: 'lsp',
  about:
    'Serves the Language Server Protocol over standard input and output for .scion and .yaml specs: diagnostics as you\ntype, hover, go to definition, references, completion, formatting and rename. Editors start it; see editors/vscode/.',
  args: { name: '', min: 0, max: 0 },
  flags: ['stdio'],
});

export const run = command(SPEC, async (_parsed, io) => {
  await serve(process.stdin, process.stdout, io.cwd);
  return EXIT.ok;
});
