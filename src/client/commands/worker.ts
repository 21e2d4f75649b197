import type { Command } from 'commander';

/** Placeholder until the command lands. */
export function registerWorker(_program: Command): void {}
