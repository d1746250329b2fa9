// A tiny editor for tests: spawns `scion lsp`, speaks JSON-RPC with Content-Length framing over
// its stdio, and collects what the server publishes. Every wait has a timeout.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string };
}

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    code?: string;
    severity?: number;
    message: string;
  }[];
}

export class LspClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (m: Message) => void>();
  readonly published: PublishedDiagnostics[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  constructor() {
    this.child = spawn(process.execPath, ['bin/scion.mjs', 'lsp', '--stdio'], { cwd: ROOT, stdio: 'pipe' });
    this.child.stdout.on('data', (chunk: Buffer) => this.read(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString()));
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))?.[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      const m = JSON.parse(body) as Message;
      if (m.id !== undefined && m.method === undefined) this.pending.get(m.id)?.(m);
      else if (m.method === 'textDocument/publishDiagnostics') {
        this.published.push(m.params as PublishedDiagnostics);
        for (const w of this.waiters.splice(0)) w();
      } else if (m.id !== undefined) this.send({ id: m.id, result: null }); // a request to the editor
    }
  }

  private send(m: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...m }), 'utf8');
    this.child.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  request<T>(method: string, params: unknown, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${method}: no answer in ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (m.error !== undefined) fail(new Error(`${method}: ${m.error.message}`));
        else ok(m.result as T);
      });
      this.send({ id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  /** The next diagnostics published for `uri` after this call whose predicate holds. */
  async diagnosticsFor(uri: string, accept: (p: PublishedDiagnostics) => boolean = () => true, timeoutMs = 10_000): Promise<PublishedDiagnostics> {
    const deadline = Date.now() + timeoutMs;
    let seen = this.published.length;
    for (;;) {
      const hit = this.published.slice(seen).find((p) => p.uri === uri && accept(p));
      if (hit !== undefined) return hit;
      seen = this.published.length;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no diagnostics for ${uri} in ${timeoutMs} ms\n${this.stderr}`);
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
  }

  async close(): Promise<void> {
    try {
      await this.request('shutdown', null, 2_000);
      this.notify('exit', null);
    } catch {
      // killed below either way
    }
    await new Promise((ok) => setTimeout(ok, 50));
    this.child.kill();
  }
}
