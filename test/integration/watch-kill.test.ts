// A worker SIGKILLed during a watch pass and during a callback delivery: no event lost, none skipped.
// The worker is a real process (`converge worker`'s runWorker, test/support/worker-process.ts) on the
// embedded region, with a signing secret; a real receiver on 127.0.0.1 gets the callbacks. After each
// kill a new worker takes over: the watch pass and the delivery are retried once their heartbeat
// timeout passes (a retried pass starts from the entity's projection, so the change it missed is
// still a change). At least once: a receiver may see an id twice, never a gap or a reordering.
import { randomBytes } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import { callbacksWorkflowId } from '../../src/domain/callbacks';
import { EVENT_TYPES, type ConvergeEvent } from '../../src/domain/events';
import type { Manifest } from '../../src/domain/manifest';
import { deploymentWorkflowId } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { eventually, Receiver } from '../support/receiver';
import { startRegion, type StartedRegion } from '../support/region';
import { closeTestConnections, taskQueueFor, testClient } from '../support/temporal';
import { WorkerProcesses } from '../support/worker-process';

const NAME = 'watchkill';
const PATH = '/watchkill';
const SECRET = randomBytes(32).toString('hex');
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
/** A retried pass waits out its 30 s heartbeat timeout, a delivery its 10 s, on a loaded machine. */
const TAKEOVER_MS = 240_000;
/** The slow receiver's answer time. */
const SLOW_MS = 8_000;

const cc = cloudConfig();
const receiver = new Receiver();
const taskQueue = taskQueueFor('watch-kill');
const workers = new WorkerProcesses('watch-kill', taskQueue);
let region: StartedRegion;
let deployments: Deployments;

beforeAll(async () => {
  await receiver.up();
  region = await startRegion({ faults: { build_ms: 30, delete_ms: 30 } });
  deployments = new Deployments(await testClient(), {
    taskQueue,
    limits: { buildDeadlineMs: 60_000, watchBoundMs: 20_000 },
  });
});
afterAll(async () => {
  await workers.stopAll();
  await region?.stop();
  await receiver.down();
  await closeTestConnections();
});

const startWorker = () =>
  workers.start({
    CONVERGE_REGION_URL: region.url,
    CONVERGE_REGION_TOKEN: region.token,
    CONVERGE_CALLBACK_SECRET: SECRET,
  });

function manifest(): Manifest {
  return smallManifest(NAME, (m) => {
    m.instance_groups = m.instance_groups.slice(0, 1);
    const g = m.instance_groups[0];
    if (!g) throw new Error('the example has no group');
    g.instances = 2;
    g.persistent_disk = undefined;
    m.watch = { interval_seconds: 1 };
    m.callbacks = [{ url: `${receiver.url}${PATH}`, events: [...EVENT_TYPES] }];
  });
}

/** Every event the receiver got, in arrival order (redeliveries included). */
const received = (): ConvergeEvent[] => receiver.on(PATH).map((r) => JSON.parse(r.body) as ConvergeEvent);
const logged = async (): Promise<ConvergeEvent[]> => (await deployments.events(NAME)).events;

/** Ids by instance ('' for the deployment's own events), each id at its first arrival only. */
function byInstance(events: ConvergeEvent[]): Map<string, string[]> {
  const seen = new Set<string>();
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const key = e.instance ?? '';
    out.set(key, [...(out.get(key) ?? []), e.id]);
  }
  return out;
}

/** The receiver has every event of the log, and nothing the log does not have. */
async function everyLoggedEventArrived(): Promise<boolean> {
  const got = new Set(received().map((e) => e.id));
  const log = await logged();
  return log.length > 0 && log.every((e) => got.has(e.id));
}

/** No gap, no reordering: per instance, the first arrivals are the log's order exactly. */
async function expectLogDelivered(): Promise<void> {
  const log = await logged();
  expect(new Set(received().map((e) => e.id))).toEqual(new Set(log.map((e) => e.id)));
  expect(byInstance(received())).toEqual(byInstance(log));
}

/** The worker is running `activity` for `workflowId` right now (Temporal says it started). */
async function running(workflowId: string, activity: string): Promise<boolean> {
  const { raw } = await (await testClient()).workflow.getHandle(workflowId).describe();
  return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === activity && a.state === STARTED);
}

describe('a worker SIGKILLed during the watch and during a delivery', () => {
  it('a server deleted while the killed pass is down still reaches the receiver as instance.missing, once in the log', async () => {
    const first = await startWorker();
    const deployed = await deployments.wait(
      await deployments.deploy(NAME, { manifest: manifest(), cloudConfig: cc }),
    );
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');
    await eventually(everyLoggedEventArrived, "the deploy's own events delivered");
    const vm = (await deployments.status(NAME)).instances.find((r) => r.index === 0)?.vm;
    expect(vm).toBeTruthy();

    await eventually(() => running(deploymentWorkflowId(NAME), 'watchCloud'), 'a watch pass running');
    await first.kill('SIGKILL');
    await region.client.deleteServer(vm ?? '');
    await startWorker();

    await eventually(
      () => received().some((e) => e.type === 'instance.missing'),
      'instance.missing at the receiver',
      TAKEOVER_MS,
    );
    const missing = (await logged()).filter((e) => e.type === 'instance.missing');
    expect(missing).toEqual([
      expect.objectContaining({ deployment: NAME, instance: 'api/0', old: 'running', new: 'missing' }),
    ]);
    expect(
      new Set(
        received()
          .filter((e) => e.type === 'instance.missing')
          .map((e) => e.id),
      ),
    ).toEqual(new Set(missing.map((e) => e.id)));
    await expectLogDelivered();
  });

  it('a delivery killed in flight to a slow receiver: every event arrives after the restart, in order per instance', async () => {
    // Each answer takes 8 s (inside the 10 s request timeout): a slow receiver, mid-answer most of the time.
    receiver.delayMs = (path) => (path === PATH ? SLOW_MS : 0);
    const ticket = await deployments.deploy(NAME, { manifest: manifest(), cloudConfig: cc, recreate: true });
    const result = await deployments.wait(ticket);
    expect(result.status, JSON.stringify(result.failure)).toBe('converged');

    // Kill while a POST has just arrived, well before its answer: the worker never learns it was received.
    let inFlight: ConvergeEvent | null = null;
    await eventually(async () => {
      const fresh = receiver.unanswered(PATH).find((r) => Date.now() - r.at < SLOW_MS / 4);
      if (!fresh || !(await running(callbacksWorkflowId(NAME), 'deliverCallbacks'))) return false;
      inFlight = JSON.parse(fresh.body) as ConvergeEvent;
      return true;
    }, 'a delivery of the recreate events waiting for its answer');
    const [worker] = workers.started.filter((w) => w.running);
    await worker?.kill('SIGKILL');
    const killedId = (inFlight as ConvergeEvent | null)?.id;
    expect(killedId).toBeTruthy();

    receiver.delayMs = () => 0;
    await startWorker();
    await eventually(everyLoggedEventArrived, 'every logged event at the receiver', TAKEOVER_MS);
    await expectLogDelivered();
    // At least once: the event whose answer the killed worker never read was sent again.
    expect(received().filter((e) => e.id === killedId).length).toBeGreaterThanOrEqual(2);
    expect((await logged()).map((e) => e.type)).toContain('operation.finished');
  });
});
