// `converge dev up|status`'s line about Worker Versioning: the current build of the stack's worker
// deployment and whether the running worker polls it, for each way the two can differ.
import { describe, expect, it } from 'vitest';
import { workerBuildLine, type WorkerBuild } from '../../../src/dev/worker-build';

const A = '1_0_0-aaaaaaaaaaaa';
const B = '1_0_0-bbbbbbbbbbbb';
const build = (current: string | null, polled: string | null): WorkerBuild => ({
  deployment: 'converge',
  current,
  polled,
});

describe('workerBuildLine', () => {
  it.each([
    [
      'the running worker polls the current build',
      build(A, A),
      `Worker build: ${A} (current in worker deployment converge; the running worker polls it)`,
    ],
    [
      'the running worker polls another build',
      build(A, B),
      `Worker build: ${A} (current in worker deployment converge; the running worker polls ${B}, not it: new operations wait (run converge dev up))`,
    ],
    [
      'no worker runs (or it polls unversioned)',
      build(A, null),
      `Worker build: ${A} (current in worker deployment converge; no running worker polls it: new operations wait)`,
    ],
    [
      'no build is current yet, a worker polls one',
      build(null, B),
      `Worker build: none current in worker deployment converge; the running worker polls ${B}: run converge dev up to make it current`,
    ],
    [
      'no build current and no worker',
      build(null, null),
      'Worker build: none current in worker deployment converge',
    ],
  ])('%s', (_what, b, line) => {
    expect(workerBuildLine(b)).toBe(line);
  });
});
