// Parameter path patterns (`except`, adapter `targets`): dotted paths where `*` matches one
// segment or part of one (`layers.*.self_attn.q_proj`, `blocks.*.attn.*`, `h*`). A pattern
// names a module: it matches a parameter when it matches that parameter's path or a prefix of it
// ending at a segment boundary. `[i]` in a pattern is read as `.i`, like `as` paths.

import { editDistance } from '../diagnostics/suggest.ts';

/** `down[1].res[0]` → `down.1.res.0`. */
export function normalizePath(p: string): string {
  return p.replace(/\[([^\]]*)\]/g, '.$1');
}

/** What is wrong with a pattern, or undefined when it is well formed. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'the pattern is empty';
  const norm = normalizePath(pattern);
  const bad = /[^A-Za-z0-9_.*]/.exec(norm);
  if (bad) return `\`${bad[0]}\` is not allowed (use letters, digits, \`_\`, \`.\` and \`*\`)`;
  if (norm.split('.').some((s) => s === '')) return 'a segment is empty (two dots in a row, or a dot at an end)';
  return undefined;
}

const segRegex = new Map<string, RegExp>();

function segMatches(pat: string, seg: string): boolean {
  if (!pat.includes('*')) return pat === seg;
  let re = segRegex.get(pat);
  if (re === undefined) {
    re = new RegExp(
      `^${pat
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^.]*')}$`,
    );
    segRegex.set(pat, re);
  }
  return re.test(seg);
}

/** Whether `pattern` matches `path` or one of its segment-boundary prefixes. */
export function matchesPath(pattern: string, path: string): boolean {
  const ps = normalizePath(pattern).split('.');
  const xs = path.split('.');
  if (ps.length > xs.length) return false;
  return ps.every((p, i) => segMatches(p, xs[i]!));
}

/**
 * The closest thing the user may have meant, ranked by edit distance to the pattern. Candidates
 * are module prefixes of the paths, with index segments written `*` (`layers.*.self_attn`), and
 * the same prefixes with the pattern's own wildcard segments kept where they match.
 */
export function nearestPattern(pattern: string, paths: Iterable<string>): string | undefined {
  const norm = normalizePath(pattern);
  const ps = norm.split('.');
  let best: string | undefined;
  let bestDist = Infinity;
  const seen = new Set<string>();
  const consider = (cand: string): void => {
    if (seen.has(cand)) return;
    seen.add(cand);
    const d = editDistance(norm, cand);
    if (d < bestDist) {
      best = cand;
      bestDist = d;
    }
  };
  for (const path of paths) {
    const xs = path.split('.');
    for (let len = 1; len <= xs.length; len++) {
      const prefix = xs.slice(0, len);
      consider(prefix.map((x) => (/^\d+$/.test(x) ? '*' : x)).join('.'));
      if (len === ps.length) consider(prefix.map((x, i) => (ps[i]!.includes('*') && segMatches(ps[i]!, x) ? ps[i]! : /^\d+$/.test(x) ? '*' : x)).join('.'));
    }
  }
  return best;
}
