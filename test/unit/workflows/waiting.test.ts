// Why an operation waits (waiting.ts): the latest report per step, shown while its step is in flight
// or while the phase waits on the read, as one line a person can act on.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../../src/planner/types';
import { duration, Waits } from '../../../src/workflows/waiting';

const create = { id: 'api/u1:create-vm', kind: 'create-vm', claim: 'api/0' } as unknown as Step;
const inFlight = [
  { id: create.id, kind: 'create-vm' as const, summary: 'create-vm api/0 z1 small ubuntu-jammy/1.181' },
];
const stepOf = (id: string): Step | undefined => (id === create.id ? create : undefined);
const report = (attempt: number, error: string, since = 1_000) => ({
  kind: 'create-vm',
  key: 'api/0',
  attempt,
  since,
  error,
});

describe('waiting', () => {
  it('an in-flight step with a report shows its summary, how long, the attempt and the last error', () => {
    const w = new Waits();
    w.record(report(9, 'server s-1 ERROR: no valid host'));
    expect(w.current('enacting', inFlight, stepOf, 131_000)).toEqual([
      {
        step: create.id,
        summary: 'create-vm api/0 z1 small ubuntu-jammy/1.181',
        attempt: 9,
        since: 1_000,
        forMs: 130_000,
        error: 'server s-1 ERROR: no valid host',
        line: 'create-vm api/0 z1 small ubuntu-jammy/1.181: retrying for 2m10s (attempt 9): server s-1 ERROR: no valid host',
      },
    ]);
  });

  it('a late signal of an earlier attempt does not replace a later one', () => {
    const w = new Waits();
    w.record(report(5, 'fifth'));
    w.record(report(4, 'fourth'));
    expect(w.current('enacting', inFlight, stepOf, 2_000).map((x) => x.attempt)).toEqual([5]);
  });

  it('a step no longer in flight waits no more', () => {
    const w = new Waits();
    w.record(report(3, 'x'));
    expect(w.current('enacting', [], stepOf, 2_000)).toEqual([]);
  });

  it('a step is retrying (a cancel abandons it) once its activity reported a failed attempt, not before', () => {
    const w = new Waits();
    expect(w.isRetrying(create)).toBe(false);
    w.record({ kind: 'create-vm', key: 'api/1', attempt: 2, since: 0, error: 'another claim' });
    expect(w.isRetrying(create)).toBe(false);
    w.record(report(2, 'static_ip 10.0.0.25 is already in use'));
    expect(w.isRetrying(create)).toBe(true);
  });

  it('a read shows while its phase waits on it, and not after the phase moved on', () => {
    const w = new Waits();
    w.record({ kind: 'observe', key: 'web', attempt: 2, since: 0, error: 'region unavailable' });
    expect(w.current('observing', [], stepOf, 5_000).map((x) => x.line)).toEqual([
      'observe web: retrying for 5s (attempt 2): region unavailable',
    ]);
    w.clearReads();
    expect(w.current('observing', [], stepOf, 5_000)).toEqual([]);
  });

  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m00s'],
    [130_000, '2m10s'],
    [3_900_000, '1h05m'],
  ])('%i ms reads %s', (ms, text) => {
    expect(duration(ms)).toBe(text);
  });
});
