// `scion playground [--port N] [--no-open]`: serves the playground page on localhost until
// interrupted. The server and the page live in playground/; this command starts it, prints the
// address and opens a browser unless told not to.

import { DEFAULT_PORT, startPlayground } from '../../playground/server.ts';
import { openBrowser } from '../../playground/open-browser.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT } from '../io.ts';

export const SPEC = commandSpec({
  name: 'playground',
  about:
    "Serves a page on localhost: a spec editor with diagnostics as you type, the explain table and a picture of the\nlayers, and a Run button that trains the model on the browser's WebGPU and generates a sample. Everything runs\nin the page; Ctrl-C stops the server.",
  args: { name: '', min: 0, max: 0 },
  flags: ['port', 'noOpen'],
});

export const run = command(SPEC, async ({ flags: { port = DEFAULT_PORT, noOpen } }, io) => {
  const p = await startPlayground({ port });
  io.err(`scion playground: serving ${p.url} (Ctrl-C to stop)\n`);
  if (!noOpen && !(await openBrowser(p.url))) io.err(`scion playground: no browser opener here; open ${p.url} yourself\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await p.close();
  return EXIT.ok;
});
