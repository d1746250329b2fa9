// Opens a URL in the user's browser: the platform's opener (xdg-open, open, start), detached so
// the server does not wait for it. Where there is none, the caller has printed the URL already.

import { spawn } from 'node:child_process';

const OPENER: Partial<Record<NodeJS.Platform, [string, string[]]>> = {
  darwin: ['open', []],
  win32: ['cmd', ['/c', 'start', '""']],
};

/** Starts the opener; resolves false when it could not be started (no desktop, no xdg-open). */
export function openBrowser(url: string): Promise<boolean> {
  const [cmd, args] = OPENER[process.platform] ?? ['xdg-open', []];
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args, url], { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
