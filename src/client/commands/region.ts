import type { Command } from 'commander';

/** Placeholder until the command lands. */
export function registerRegion(_program: Command): void {}
