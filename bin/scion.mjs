#!/usr/bin/env node
// Runs the CLI from source through tsx's loader: `npm install` is the only set-up step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
