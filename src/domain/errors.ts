// Errors a user can fix: bad input (ValidationError, exit 2) and other user mistakes (UserError).
// Pure: no Node imports, so workflow update validators can throw these too.

/** One thing wrong with an input, named by its field path and (when known) its YAML position. */
export interface Problem {
  /** Field path such as `instance_groups[1].networks[0].static_ips[2]`; '' means the whole document. */
  path: string;
  /** 1-based line in the source file, or null when the input did not come from a file. */
  line: number | null;
  column: number | null;
  /** What was expected and what was found. */
  message: string;
  /** A nudge such as "did you mean 'vm_type'?". */
  hint: string | null;
  /** The file this problem is in, when it differs from the error's own source (cross-file checks). */
  source?: string | null;
}

/** A mistake the user can fix; the CLI prints the message (no stack) and exits with `exitCode`. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Bad input: every problem found, not just the first. Its message is the formatted list. */
export class ValidationError extends UserError {
  readonly problems: readonly Problem[];
  readonly source: string | null;
  constructor(problems: readonly Problem[], source: string | null = null) {
    const sorted = sortProblems(problems, source);
    super(formatProblems(sorted, source), 2);
    this.name = 'ValidationError';
    this.problems = sorted;
    this.source = source;
  }
}

export function isValidationError(err: unknown): err is ValidationError {
  return err instanceof ValidationError;
}

/**
 * One problem per line:
 * `manifest.yml:12:7 instance_groups[1].vm_type: unknown vm_type 'smal' (expected one of: small, medium) — did you mean 'small'?`
 */
export function formatProblems(problems: readonly Problem[], source: string | null = null): string {
  return problems.map((p) => formatProblem(p, source)).join('\n');
}

export function formatProblem(problem: Problem, source: string | null = null): string {
  const file = problem.source ?? source;
  let where = file ?? '';
  if (problem.line !== null) {
    where += `${file === null ? 'line ' : ':'}${problem.line}`;
    if (problem.column !== null) where += `:${problem.column}`;
  }
  const field = problem.path === '' ? '(document)' : problem.path;
  const head = where === '' ? field : `${where} ${field}`;
  const hint = problem.hint === null ? '' : ` — ${problem.hint}`;
  return `${head}: ${problem.message}${hint}`;
}

/** Order by file (`firstSource` first, then as first seen), then line and column; problems without a line keep their order, last. */
export function sortProblems(problems: readonly Problem[], firstSource: string | null = null): Problem[] {
  const fileOrder = new Map<string, number>([[firstSource ?? '', 0]]);
  for (const p of problems) {
    const key = p.source ?? '';
    if (!fileOrder.has(key)) fileOrder.set(key, fileOrder.size);
  }
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const fa = fileOrder.get(a.p.source ?? '') ?? 0;
      const fb = fileOrder.get(b.p.source ?? '') ?? 0;
      if (fa !== fb) return fa - fb;
      const la = a.p.line ?? Number.MAX_SAFE_INTEGER;
      const lb = b.p.line ?? Number.MAX_SAFE_INTEGER;
      if (la !== lb) return la - lb;
      const ca = a.p.column ?? 0;
      const cb = b.p.column ?? 0;
      if (ca !== cb) return ca - cb;
      return a.i - b.i;
    })
    .map(({ p }) => p);
}

/** One step of a field path: a mapping key or a list index. */
export type PathSegment = string | number;

/** `['instance_groups', 1, 'networks', 0]` → `instance_groups[1].networks[0]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
