// Why an operation waits. Activities that keep failing retryably report each failed attempt
// (retry-report.ts); this keeps the latest report per step and shows the ones whose step is still in
// flight, or whose read the current phase is waiting on, as lines such as
// `create-vm api/0 z1 small ubuntu-jammy/1.181: retrying for 2m10s (attempt 9): ... ERROR: no valid host`.
// Pure bookkeeping in the workflow: signals are events, not commands, so nothing here changes them.
import type { StepRetrying } from '../domain/activities';
import type { Step } from '../planner/types';
import type { InFlightStep, Phase, StepWait } from './types';

/** An error is cut to this many characters in the details (the whole one is in the activity's history). */
const ERROR_CHARS = 300;

/** The key a step's activity reports under (retry-report.ts uses the same fields of its input). */
export function stepKey(step: Step): string {
  switch (step.kind) {
    case 'create-vm':
      return `${step.kind} ${step.claim}`;
    case 'associate-vm-to-instance':
      return `${step.kind} ${step.instanceId}`;
    case 'delete-server':
      return `${step.kind} ${step.serverId}`;
    case 'release-quota':
      return `${step.kind} ${step.allocationId}`;
    case 'detach-disk':
    case 'delete-disk':
      return `${step.kind} ${step.volumeId}`;
    case 'power-off':
    case 'power-on':
    case 'reboot':
      // The instance-action activity reports by its server (a new VM's id is known only once made).
      return `instance-action ${step.serverId ?? step.createStep ?? ''}`;
  }
}

const STEP_KINDS = new Set<string>([
  'create-vm',
  'associate-vm-to-instance',
  'delete-server',
  'release-quota',
  'detach-disk',
  'delete-disk',
  'instance-action',
]);
const isStepKind = (kind: string): boolean => STEP_KINDS.has(kind);

/** The reads an operation makes outside its plan, and the phases that wait on them. */
const READS: Partial<Record<Phase, string[]>> = {
  observing: ['observe', 'get-pool'],
  'checking-quota': ['get-pool'],
  verifying: ['observe'],
};

export class Waits {
  private readonly latest = new Map<string, StepRetrying>();

  record(report: StepRetrying): void {
    const key = `${report.kind} ${report.key}`;
    const before = this.latest.get(key);
    // Signals may arrive out of order; the later attempt wins.
    if (!before || before.attempt <= report.attempt || before.since !== report.since)
      this.latest.set(key, report);
  }

  /** Has the step's activity reported a failed attempt (it is, or was, in a retry loop)? */
  isRetrying(step: Step): boolean {
    return this.latest.has(stepKey(step));
  }

  /** The waits that hold the operation now, in-flight steps first (in their order), then reads. */
  current(
    phase: Phase,
    inFlight: readonly InFlightStep[],
    stepOf: (id: string) => Step | undefined,
    now: number,
  ): StepWait[] {
    const out: StepWait[] = [];
    for (const s of inFlight) {
      const step = stepOf(s.id);
      const report = step ? this.latest.get(stepKey(step)) : undefined;
      if (report) out.push(wait(s.id, s.summary, report, now));
    }
    for (const kind of READS[phase] ?? []) {
      for (const report of this.latest.values()) {
        if (report.kind === kind) out.push(wait(null, `${kind} ${report.key}`, report, now));
      }
    }
    return out;
  }

  /** A new phase: the reads of the last one answered, so their reports are old news. */
  clearReads(): void {
    for (const [key, report] of this.latest) if (!isStepKind(report.kind)) this.latest.delete(key);
  }
}

function wait(step: string | null, summary: string, r: StepRetrying, now: number): StepWait {
  const forMs = Math.max(0, now - r.since);
  const error = r.error.length > ERROR_CHARS ? `${r.error.slice(0, ERROR_CHARS - 1)}…` : r.error;
  return {
    step,
    summary,
    attempt: r.attempt,
    since: r.since,
    forMs,
    error: r.error,
    line: `${summary}: retrying for ${duration(forMs)} (attempt ${r.attempt}): ${error}`,
  };
}

/** `45s`, `2m10s`, `1h05m`: how long, as a person says it. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
