import type { Command } from 'commander';

/** Placeholder until the command lands. */
export function registerDeployments(_program: Command): void {}
