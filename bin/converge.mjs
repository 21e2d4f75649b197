#!/usr/bin/env node
// Entry point for the `converge` command: runs the compiled CLI in dist/ (`npm run build`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `converge status | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = fileURLToPath(new URL('..', import.meta.url));
const info = join(root, 'dist', 'build-info.json');
if (!existsSync(info)) {
  console.error('converge: dist/ is missing; run `npm run build` (or `bash scripts/setup.sh`) first');
  process.exit(1);
}

// In a checkout, say so when the sources changed after the build (a few hundred stats, ~1 ms).
const src = join(root, 'src');
if (existsSync(src)) {
  const built = statSync(info).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs > built,
    );
  if (newer(src)) console.error('converge: warning: src/ changed since the last build; run `npm run build`');
}

// Stack traces point into src/ for the long-running services and when debugging; the one-shot
// commands skip parsing the maps.
if (process.env.CONVERGE_DEBUG || ['worker', 'region'].includes(process.argv[2] ?? '')) {
  process.setSourceMapsEnabled(true);
}

// The long-running processes load the SDK from node_modules (one copy beside the worker's native
// core); every other command runs the standalone bundle, which starts faster (scripts/build.mjs).
const LONG_RUNNING = ['worker', 'region', 'codec-server'];
if (LONG_RUNNING.includes(process.argv[2] ?? '')) await import('../dist/cli.js');
else await import('../dist/standalone/cli.js');
