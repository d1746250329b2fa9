// Starts `scion lsp` for .scion files (and YAML specs matching `scion.yaml.pattern`) through
// vscode-languageclient; every feature comes from the server. Plain CommonJS: nothing to build.

const { workspace } = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** @param {import('vscode').ExtensionContext} context */
function activate(context) {
  const config = workspace.getConfiguration('scion');
  const [command, ...args] = config.get('server.command') ?? ['npx', 'scion', 'lsp', '--stdio'];
  const cwd = workspace.workspaceFolders?.[0]?.uri.fsPath;
  // No `transport`: the client then adds no flags of its own; the command line says --stdio.
  const server = { command, args, options: cwd === undefined ? {} : { cwd } };
  client = new LanguageClient(
    'scion',
    'Scion',
    server,
    {
      documentSelector: [
        { scheme: 'file', language: 'scion' },
        { scheme: 'untitled', language: 'scion' },
        { scheme: 'file', language: 'yaml', pattern: config.get('yaml.pattern') ?? '**/specs/**/*.{yaml,yml}' },
      ],
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client?.stop();
}

module.exports = { activate, deactivate };
