#!/usr/bin/env node
// Entry point for the `converge` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

// `converge status | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
await import('../src/client/main.ts');
