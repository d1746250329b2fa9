// The browser tests' PageServer serves a mounted folder's files (onnxruntime-web's dist) as they
// are on disk, with a content type a browser accepts for module scripts and WebAssembly, and
// nothing outside that folder.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PageServer } from '../runtime/webgpu/browser/browser-fixture.ts';

describe('PageServer.mount', async () => {
  const root = mkdtempSync(join(tmpdir(), 'scion-mount-'));
  const dir = join(root, 'dist');
  mkdirSync(dir);
  const wasm = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff);
  writeFileSync(join(dir, 'm.wasm'), wasm);
  writeFileSync(join(dir, 'ort.min.mjs'), 'export const x = 1;\n');
  writeFileSync(join(dir, 'notes.txt'), 'not served');
  writeFileSync(join(root, 'secret.mjs'), 'outside the mount');
  const server = await PageServer.start();
  server.mount('/ort/', dir);
  afterAll(() => server.close());
  const get = (path: string) => fetch(server.url(path));

  it('serves .wasm byte for byte as application/wasm, and .mjs as JavaScript', async () => {
    const w = await get('/ort/m.wasm');
    expect(w.status).toBe(200);
    expect(w.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await w.arrayBuffer())).toEqual(wasm);
    const m = await get('/ort/ort.min.mjs');
    expect(m.headers.get('content-type')).toBe('text/javascript');
    expect(await m.text()).toBe('export const x = 1;\n');
  });

  it('answers 404 for missing files, other types, and paths that leave the folder', async () => {
    for (const path of ['/ort/none.mjs', '/ort/notes.txt', '/ort/../secret.mjs', '/ort/%2e%2e%2fsecret.mjs', '/ort/sub/../../secret.mjs', '/secret.mjs']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('serves binary published bodies unchanged', async () => {
    const body = Uint8Array.from({ length: 300 }, (_, k) => (k * 7) % 256);
    server.publish('/model.onnx', 'application/octet-stream', body);
    expect(new Uint8Array(await (await get('/model.onnx')).arrayBuffer())).toEqual(body);
  });
});
