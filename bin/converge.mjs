#!/usr/bin/env node
// Entry point for the `converge` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/client/main.ts');
