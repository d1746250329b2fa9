// The playground's one HTML page: the layout and its style. The script (page/main.ts, bundled at
// startup) fills it in; the ids here are the ones main.ts looks up.

import { PAGE_JS_PATH } from './assets-paths.ts';

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scion playground</title>
<style>
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
  header { display: flex; gap: 16px; align-items: baseline; padding: 10px 16px; background: #1f2d3d; color: #fff; }
  header h1 { font-size: 17px; margin: 0; }
  header #gpu { font-size: 12px; color: #cfe3ff; }
  header #gpu.bad { color: #ffd0c8; }
  main { display: grid; grid-template-columns: minmax(420px, 1fr) 480px; gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 8px 10px; min-width: 0; }
  h2 { font-size: 13px; margin: 0 0 6px; color: #3b4756; text-transform: uppercase; letter-spacing: .04em; }
  #editor .cm-editor { height: 560px; border: 1px solid #d9dde3; font-size: 13px; }
  #problems.ok { color: #23803a; } #problems.warn { color: #a86400; } #problems.bad { color: #b3261e; }
  .controls { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
  .controls input { width: 64px; }
  #run { padding: 4px 16px; font-weight: 600; }
  #run-status { font-size: 12px; color: #3b4756; min-height: 1.4em; }
  #sample { white-space: pre-wrap; font: 13px/1.4 Georgia, serif; min-height: 2.8em; }
  #explain { font: 11px/1.35 ui-monospace, monospace; overflow-x: auto; max-height: 340px; margin: 0; }
  .right { display: flex; flex-direction: column; gap: 12px; }
  #explain-note { font-size: 12px; color: #3b4756; }
  .wide { grid-column: 1 / -1; display: grid; grid-template-columns: 1fr 400px; gap: 12px; }
</style>
</head>
<body>
<header><h1>Scion playground</h1><span id="gpu">looking for WebGPU…</span></header>
<main>
  <section><h2>Spec <span id="problems"></span></h2><div id="editor"></div></section>
  <div class="right">
    <section>
      <h2>Train</h2>
      <div class="controls">
        <button id="run" disabled>Run</button>
        <label>steps <input id="steps" type="number" min="1" value="50"></label>
        <label>batch <input id="batch" type="number" min="1" placeholder="spec's"></label>
      </div>
      <div id="run-status"></div>
      <div id="loss"></div>
    </section>
    <section><h2>Sample</h2><div id="sample"></div></section>
  </div>
  <div class="wide">
    <section><h2>Explain <span id="explain-note"></span></h2><pre id="explain"></pre></section>
    <section><h2>Layers</h2><div id="graph"></div></section>
  </div>
</main>
<script type="module" src="${PAGE_JS_PATH}"></script>
</body>
</html>
`;
