import type { Command } from 'commander';

/** Placeholder until the command lands. */
export function registerDev(_program: Command): void {}
