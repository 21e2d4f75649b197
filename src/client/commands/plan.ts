import type { Command } from 'commander';

/** Placeholder until the command lands. */
export function registerPlan(_program: Command): void {}
