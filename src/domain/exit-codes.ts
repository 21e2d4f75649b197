// Every exit code the CLI uses, defined once: scripts branch on these numbers, and each command's
// `--help` lists the ones it can end with (codes a command never uses are not listed).

export const EXIT = {
  /** Done: converged, planned, listed. */
  ok: 0,
  /** The operation failed, or something unexpected broke (the message says which). */
  failed: 1,
  /** `cck` without --resolution: problems were found (as `failed`, so a script's `||` catches it). */
  problems: 1,
  /** Bad input or usage: unknown option, missing argument, invalid manifest, unknown deployment. */
  usage: 2,
  /** deploy and the lifecycle commands: the operation was cancelled and ended consistent. */
  cancelled: 3,
  /** `plan --detailed-exitcode`: the plan has changes (Terraform's 2, which is bad input here). */
  changes: 3,
  /** Temporal could not be reached (address, TLS, network): nothing was started. */
  unreachable: 4,
  /** A destructive command was not confirmed: the answer was no, or there is no terminal and no --yes. */
  notConfirmed: 5,
  /** A signed request was refused by the permission check (src/domain/permissions.ts): nothing was started. */
  denied: 6,
  /** Ctrl-C while following an operation: the CLI detached, the operation goes on. */
  interrupted: 130,
} as const;

export type ExitName = keyof typeof EXIT;

const MEANING: Record<ExitName, string> = {
  ok: 'done',
  failed: 'the operation failed (or an unexpected error; CONVERGE_DEBUG=1 shows its stack)',
  problems: 'cck found problems (without --resolution)',
  usage: 'bad input or usage (nothing was started)',
  cancelled: 'the operation was cancelled (ended consistent)',
  changes: 'the plan has changes (--detailed-exitcode only)',
  unreachable: 'cannot reach Temporal (nothing was started)',
  notConfirmed: 'not confirmed (answered no, or no terminal and no --yes)',
  denied: 'permission denied: no grant for this request (nothing was started)',
  interrupted: 'detached by Ctrl-C (the operation goes on)',
};

/** The `Exit codes:` block of a command's `--help`, for the codes it can end with. */
export function exitCodesHelp(names: readonly ExitName[], meaning: Partial<Record<ExitName, string>> = {}) {
  const sorted = [...names].sort((a, b) => EXIT[a] - EXIT[b]);
  const lines = sorted.map((n) => `  ${String(EXIT[n]).padStart(3)}  ${meaning[n] ?? MEANING[n]}`);
  return `\nExit codes:\n${lines.join('\n')}`;
}

/** The codes of a command that starts an operation and follows it to its end. */
export const OPERATION_CODES: readonly ExitName[] = [
  'ok',
  'failed',
  'usage',
  'cancelled',
  'unreachable',
  'denied',
  'interrupted',
];

/** The codes of a command that only reads or signals. */
export const READ_CODES: readonly ExitName[] = ['ok', 'failed', 'usage', 'unreachable'];
