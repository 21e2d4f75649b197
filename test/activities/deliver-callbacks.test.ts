// The delivery activity against a real receiver on 127.0.0.1, run as a worker runs it (heartbeats
// recorded): it keeps heartbeating while a slow receiver holds its answer, so the outbox can give the
// activity a short heartbeat timeout without a slow receiver looking like a dead worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackSecret } from '../../src/activities/callback-secret';
import { deliverCallbacks } from '../../src/activities/deliver-callbacks';
import type { DeliveryOutcome } from '../../src/domain/callbacks';
import type { ConvergeEvent } from '../../src/domain/events';
import { Receiver } from '../support/receiver';
import { failActivity, runActivity } from './harness';

const PATH = '/slow';
const receiver = new Receiver();
const secret = new CallbackSecret('k-0123456789abcdef0123456789abcdef');

beforeAll(() => receiver.up());
afterAll(() => receiver.down());

const event = (n: number): ConvergeEvent => ({
  id: `e-${n}`,
  type: 'instance.missing',
  deployment: 'slow',
  instance: 'api/0',
  old: 'running',
  new: 'missing',
  at: '2026-12-06T00:00:00.000Z',
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('deliverCallbacks heartbeats', () => {
  it('beats while a slow receiver holds its answer, with the outcomes done so far, and stops when it returns', async () => {
    // The first POST is answered late, the second at once.
    receiver.delayMs = () => (receiver.on(PATH).length === 1 ? 1500 : 0);
    const midAnswer: unknown[] = [];
    const deliver = deliverCallbacks({ secret, timeoutMs: 10_000, heartbeatEveryMs: 100 });
    const run = await runActivity(
      deliver,
      [{ url: `${receiver.url}${PATH}`, events: [event(1), event(2)] }],
      {
        onHeartbeat: (details) => {
          if (receiver.unanswered(PATH).length > 0) midAnswer.push(details);
        },
      },
    );
    const delivered: DeliveryOutcome[] = [
      { id: 'e-1', delivered: true },
      { id: 'e-2', delivered: true },
    ];
    expect(run.value.outcomes).toEqual(delivered);
    // Beats while the first answer was awaited, each saying nothing is done yet.
    expect(midAnswer.length).toBeGreaterThanOrEqual(2);
    expect(new Set(midAnswer.map((d) => JSON.stringify(d)))).toEqual(new Set(['[]']));
    // Before the second POST: the first is done.
    expect(run.heartbeats).toContainEqual([{ id: 'e-1', delivered: true }]);
    const after = run.heartbeats.length;
    await sleep(400);
    expect(run.heartbeats.length).toBe(after);
  });

  it('stops beating when a POST fails (the attempt ends; Temporal retries it)', async () => {
    receiver.delayMs = () => 0;
    receiver.status = () => 503;
    try {
      const heartbeats: unknown[] = [];
      const deliver = deliverCallbacks({ secret, timeoutMs: 10_000, heartbeatEveryMs: 50 });
      const failure = await failActivity(deliver, [{ url: `${receiver.url}${PATH}`, events: [event(3)] }], {
        onHeartbeat: (d) => heartbeats.push(d),
      });
      expect(failure.type).toBe('CallbackUnreachable');
      const after = heartbeats.length;
      await sleep(300);
      expect(heartbeats.length).toBe(after);
    } finally {
      receiver.status = () => 204;
    }
  });
});
