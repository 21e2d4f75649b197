// What `converge dev up|status` says about Worker Versioning: the build current in the stack's worker
// deployment (where new operations go) and whether the running worker polls it. A worker polling
// another build leaves new operations waiting for a worker of the current one.

export interface WorkerBuild {
  /** The worker deployment the stack's worker polls as. */
  deployment: string;
  /** Its current build, as the Temporal server has it; null: none. */
  current: string | null;
  /** The build the running worker polls as; null: it polls unversioned, or no worker runs. */
  polled: string | null;
}

/**
 * One line for the table's foot, e.g.
 * `Worker build: 1_0_0-0123456789ab (current in worker deployment converge; the running worker polls it)`.
 */
export function workerBuildLine(b: WorkerBuild): string {
  const head = 'Worker build: ';
  if (b.current === null) {
    return (
      `${head}none current in worker deployment ${b.deployment}` +
      (b.polled === null
        ? ''
        : `; the running worker polls ${b.polled}: run converge dev up to make it current`)
    );
  }
  const worker =
    b.polled === b.current
      ? 'the running worker polls it'
      : b.polled === null
        ? 'no running worker polls it: new operations wait'
        : `the running worker polls ${b.polled}, not it: new operations wait (run converge dev up)`;
  return `${head}${b.current} (current in worker deployment ${b.deployment}; ${worker})`;
}
