/// <reference lib="dom" />
// The playground page: a CodeMirror 6 editor over one spec, checked as you type (a pause of
// CHECK_DELAY_MS) by the same checker `scion check` runs, bundled for the browser; the `explain`
// table and a picture of the layers of the model it trains; and a Run button that trains that
// model on navigator.gpu (run.ts). `globalThis.playground` lets the tests drive and read it.

import { StreamLanguage } from '@codemirror/language';
import { forEachDiagnostic, type Diagnostic, linter, lintGutter } from '@codemirror/lint';
import { basicSetup, EditorView } from 'codemirror';
import { layoutPlot } from '../../runtime/plot/layout.ts';
import { renderSvg } from '../../runtime/plot/svg.ts';
import { acquireDevice } from '../../runtime/webgpu/device.ts';
import { analyze, type Analysis } from '../analyze.ts';
import { DEFAULT_SPEC_PATH } from '../assets-paths.ts';
import { nextToken } from '../highlight.ts';
import { runInPage } from './run.ts';

/** Pause after the last keystroke before the spec is checked again (as the language server's 200 ms, plus a little). */
export const CHECK_DELAY_MS = 250;

const scion = StreamLanguage.define<null>({
  name: 'scion',
  startState: () => null,
  token(stream) {
    const t = nextToken(stream.string.slice(stream.pos));
    stream.pos += t.length;
    return t.style;
  },
  languageData: { commentTokens: { line: '//' } },
});

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: no #${id} in the page`);
  return el as T;
};

interface RunState {
  phase: 'idle' | 'running' | 'done' | 'failed';
  steps: number[];
  losses: number[];
  sample: string;
  message: string;
}

const run: RunState = { phase: 'idle', steps: [], losses: [], sample: '', message: '' };
let latest: Analysis | undefined;
let webgpu = false;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The explain table, the layer picture and the problem count for one analysis. */
function show(a: Analysis): void {
  latest = a;
  const errors = a.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = a.diagnostics.filter((d) => d.severity === 'warning').length;
  $('problems').textContent = errors + warnings === 0 ? 'no problems' : `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
  $('problems').className = errors > 0 ? 'bad' : warnings > 0 ? 'warn' : 'ok';
  if (a.table !== undefined) {
    $('explain').textContent = a.table;
    $('graph').innerHTML = a.graphSvg ?? '';
    $('explain-note').textContent = `model ${a.model}`;
  } else {
    $('explain-note').textContent =
      a.explainError ?? (a.model === undefined ? 'no model to explain' : `fix the errors to see ${a.model} (the last table is kept)`);
  }
  updateRunButton();
}

function updateRunButton(): void {
  const button = $<HTMLButtonElement>('run');
  const ready = latest?.table !== undefined && latest.trainable;
  button.disabled = !webgpu || run.phase === 'running' || !ready;
  button.title = !webgpu ? 'this browser has no WebGPU' : !ready ? 'the spec needs no errors and a `train` declaration' : '';
}

function drawLoss(): void {
  const layout = layoutPlot([{ name: 'train', x: run.steps, y: run.losses }], {
    title: 'training loss',
    width: 460,
    height: 240,
    xLabel: 'step',
    yLabel: 'loss (nats/token)',
  });
  $('loss').innerHTML = renderSvg(layout);
}

async function onRun(): Promise<void> {
  const a = latest;
  if (a?.model === undefined) return;
  Object.assign(run, { phase: 'running', steps: [], losses: [], sample: '', message: '' });
  $('sample').textContent = '';
  updateRunButton();
  // A blank field keeps the spec's own value.
  const field = (id: string): number | undefined => ($<HTMLInputElement>(id).value === '' ? undefined : Number($<HTMLInputElement>(id).value));
  const steps = field('steps');
  const batch = field('batch');
  try {
    await runInPage(
      a.program,
      a.model,
      { ...(steps === undefined ? {} : { steps }), ...(batch === undefined ? {} : { batch }) },
      {
        phase: (t) => {
          $('run-status').textContent = t;
        },
        step: (p) => {
          run.steps.push(p.step);
          run.losses.push(p.loss);
          $('run-status').textContent = `step ${p.step}/${p.of}: loss ${p.loss.toFixed(3)} (lr ${p.lr.toExponential(2)})`;
          drawLoss();
        },
        text: (piece) => {
          run.sample += piece;
          $('sample').textContent = run.sample;
        },
      },
    );
    run.phase = 'done';
  } catch (error) {
    run.phase = 'failed';
    run.message = (error as Error).message;
    $('run-status').textContent = `failed: ${run.message}`;
  }
  updateRunButton();
}

async function main(): Promise<void> {
  const text = await (await fetch(DEFAULT_SPEC_PATH)).text();
  const check = linter(
    (view): Diagnostic[] => {
      const a = analyze(view.state.doc.toString());
      show(a);
      return a.diagnostics.map((d) => ({
        from: d.from,
        to: d.to,
        severity: d.severity === 'note' ? 'info' : d.severity,
        source: d.code,
        message: d.message,
      }));
    },
    { delay: CHECK_DELAY_MS },
  );
  const view = new EditorView({ doc: text, extensions: [basicSetup, scion, lintGutter(), check], parent: $('editor') });
  $('run').addEventListener('click', () => void onRun());

  const gpu = await acquireDevice();
  if (gpu.device === null) {
    $('gpu').textContent = `No WebGPU here (${gpu.reason}): the page still checks and explains, but cannot train.`;
    $('gpu').className = 'bad';
  } else {
    webgpu = true;
    const info = gpu.adapterInfo;
    $('gpu').textContent = `WebGPU: ${info.description || [info.vendor, info.architecture].filter((s) => s !== '').join(' ') || 'adapter found'}`;
    gpu.destroy();
  }
  updateRunButton();

  (globalThis as { playground?: unknown }).playground = {
    run,
    webgpu: () => webgpu,
    /**
     * Selects `s` (inside the first occurrence of `within`, when given; false when absent) and
     * focuses the editor, so that typing replaces it.
     */
    selectText(s: string, within = s): boolean {
      const doc = view.state.doc.toString();
      const outer = doc.indexOf(within);
      const at = outer < 0 ? -1 : doc.indexOf(s, outer);
      if (at < 0) return false;
      view.dispatch({ selection: { anchor: at, head: at + s.length } });
      view.focus();
      return true;
    },
    text: () => view.state.doc.toString(),
    /** The diagnostics the editor shows now, with the line each starts on. */
    diagnostics(): { line: number; severity: string; message: string }[] {
      const out: { line: number; severity: string; message: string }[] = [];
      forEachDiagnostic(view.state, (d, from) => out.push({ line: view.state.doc.lineAt(from).number, severity: d.severity, message: d.message }));
      return out;
    },
    layers: () => latest?.report?.layers.map((l) => l.path) ?? [],
  };
}

void main();
