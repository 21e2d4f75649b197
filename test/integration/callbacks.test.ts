// Callbacks on the real stack: a real worker (with a signing secret in its environment), the real
// outbox workflow and delivery activity, and a real HTTP receiver on 127.0.0.1. Events are handed
// over the way the entity and the watch do (notifyListeners, from a test workflow).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { Worker, WorkflowBundleOption } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCallback, CALLBACK_HEADERS } from '../../src/activities';
import { Deployments } from '../../src/client/deployments';
import { callbacksWorkflowId, type CallbackTarget } from '../../src/domain/callbacks';
import type { ConvergeEvent, EventType } from '../../src/domain/events';
import { createConvergeWorker } from '../../src/workers/worker';
import { callbacksStatusQuery } from '../../src/workflows/messages';
import type { CallbacksStatus } from '../../src/workflows/outbox';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { rawHistories, rawText } from '../support/histories';
import { eventually, Receiver, type ReceivedCallback } from '../support/receiver';
import { regionForFile } from '../support/region';
import {
  closeTestConnections,
  taskQueueFor,
  temporalNamespace,
  testBundle,
  testClient,
  testWorkerConnection,
} from '../support/temporal';
import type { callbackOutbox, notifier } from './fixtures/callback-workflows';

const FIXTURE = fileURLToPath(new URL('./fixtures/callback-workflows.ts', import.meta.url));
const SECRET = randomBytes(32).toString('hex');
const SECRET_BYTES = Buffer.from(SECRET, 'utf8');
const taskQueue = taskQueueFor('callbacks');
const suffix = randomBytes(3).toString('hex');

const region = regionForFile({ faults: { build_ms: 30, delete_ms: 30 } });
const receiver = new Receiver();
let bundle: Promise<WorkflowBundleOption>;
let client: Client;
const workers: Array<{ worker: Worker; running: Promise<void> }> = [];

async function startWorker(queue: string, env: Record<string, string>): Promise<void> {
  bundle ??= testBundle(FIXTURE);
  const { worker } = await createConvergeWorker({
    taskQueue: queue,
    cloud: region.client,
    connection: await testWorkerConnection(),
    namespace: temporalNamespace(),
    workflowBundle: await bundle,
    env,
  });
  workers.push({ worker, running: worker.run() });
}

beforeAll(async () => {
  await receiver.up();
  client = await testClient();
  await startWorker(taskQueue, { CONVERGE_CALLBACK_SECRET: SECRET });
});

afterAll(async () => {
  for (const w of workers) w.worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  await receiver.down();
  await closeTestConnections();
});

let seq = 0;
function event(deployment: string, instance: string, type: EventType, n: number): ConvergeEvent {
  return {
    id: `${deployment}:${instance}:${n}`,
    type,
    deployment,
    instance,
    old: `s${n - 1}`,
    new: `s${n}`,
    at: new Date(Date.UTC(2026, 11, 5, 12, 0, n)).toISOString(),
    detail: `change ${n}`,
  };
}

async function notify(
  deployment: string,
  callbacks: CallbackTarget[],
  events: ConvergeEvent[],
  queue = taskQueue,
) {
  await client.workflow.execute<typeof notifier>('notifier', {
    taskQueue: queue,
    workflowId: `notify-${deployment}-${++seq}`,
    args: [deployment, callbacks, events],
  });
}

function status(deployment: string): Promise<CallbacksStatus> {
  return client.workflow.getHandle(callbacksWorkflowId(deployment)).query(callbacksStatusQuery);
}

const bodies = (rs: ReceivedCallback[]) => rs.map((r) => JSON.parse(r.body) as ConvergeEvent);

/** The ids each instance received, first arrivals only (redeliveries are allowed, reordering is not). */
function firstArrivals(rs: ReceivedCallback[]): Map<string, string[]> {
  const seen = new Set<string>();
  const out = new Map<string, string[]>();
  for (const e of bodies(rs)) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.set(e.instance ?? '', [...(out.get(e.instance ?? '') ?? []), e.id]);
  }
  return out;
}

describe('callbacks', () => {
  it('POSTs each matching event, signed, in order per instance; other types are not sent', async () => {
    const name = `cb-signed-${suffix}`;
    const url = `${receiver.url}/signed`;
    const callbacks: CallbackTarget[] = [{ url, events: ['instance.running', 'instance.stopped'] }];
    const sent: ConvergeEvent[] = [];
    for (let n = 1; n <= 3; n++) {
      const batch = [
        event(name, 'api/0', n % 2 ? 'instance.running' : 'instance.stopped', n),
        event(name, 'api/1', 'instance.running', n),
        event(name, 'api/1', 'instance.ip_changed', 100 + n), // not subscribed
      ];
      sent.push(...batch.filter((e) => e.type !== 'instance.ip_changed'));
      await notify(name, callbacks, batch);
    }
    await eventually(() => receiver.on('/signed').length >= sent.length, 'six callbacks');

    const got = receiver.on('/signed');
    const nowS = Math.floor(Date.now() / 1000);
    for (const r of got) {
      const ok = verifyCallback(
        SECRET_BYTES,
        {
          timestamp: r.headers[CALLBACK_HEADERS.timestamp.toLowerCase()] as string,
          signature: r.headers[CALLBACK_HEADERS.signature.toLowerCase()] as string,
        },
        r.body,
        nowS,
      );
      expect(ok, `signature of ${r.body}`).toBe(true);
      // A wrong secret or a changed body does not verify.
      const headers = {
        timestamp: r.headers['converge-timestamp'] as string,
        signature: r.headers['converge-signature'] as string,
      };
      expect(verifyCallback(Buffer.from('x'.repeat(64)), headers, r.body, nowS)).toBe(false);
      expect(verifyCallback(SECRET_BYTES, headers, r.body.replace('api', 'apx'), nowS)).toBe(false);
      expect(r.headers['converge-event-id']).toBe((JSON.parse(r.body) as ConvergeEvent).id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(new Set(bodies(got).map((e) => e.id))).toEqual(new Set(sent.map((e) => e.id)));
    expect(bodies(got).find((e) => e.id === sent[0]?.id)).toEqual(sent[0]);
    const order = firstArrivals(got);
    expect(order.get('api/0')).toEqual(sent.filter((e) => e.instance === 'api/0').map((e) => e.id));
    expect(order.get('api/1')).toEqual(sent.filter((e) => e.instance === 'api/1').map((e) => e.id));

    const s = await status(name);
    expect(s.callbacks).toMatchObject([{ url, delivered: sent.length, pending: 0, rejected: 0, dropped: 0 }]);
  });

  it('a receiver that is down gets every event, in order, when it comes back; a deploy meanwhile is unaffected', async () => {
    const name = `cb-down-${suffix}`;
    const url = `${receiver.url}/down`;
    const callbacks: CallbackTarget[] = [{ url, events: ['instance.running', 'instance.stopped'] }];
    await receiver.down();
    const sent: ConvergeEvent[] = [];
    for (let n = 1; n <= 12; n++) {
      const batch = [event(name, `web/${n % 3}`, n % 2 ? 'instance.running' : 'instance.stopped', n)];
      sent.push(...batch);
      await notify(name, callbacks, batch);
    }
    // The receiver is down: a deploy starts, runs and converges as if there were no callbacks.
    const deployments = new Deployments(client, { taskQueue, limits: { buildDeadlineMs: 60_000 } });
    const manifest = smallManifest(`cbdeploy-${suffix}`, (m) => {
      m.callbacks = callbacks;
    });
    const result = await deployments.wait(
      await deployments.deploy(manifest.name, { manifest, cloudConfig: cloudConfig() }),
    );
    expect(result.status).toBe('converged');

    // The outbox says why it waits (reported by the retried delivery), and has lost nothing.
    let lastError: string | null = null;
    await eventually(async () => {
      lastError = (await status(name)).callbacks[0]?.lastError?.message ?? null;
      return lastError !== null;
    }, 'the outbox to report the refused connection');
    expect(lastError).toMatch(/ECONNREFUSED|refused/);
    expect(receiver.on('/down')).toEqual([]);
    const waiting = await status(name);
    expect(waiting.callbacks[0]?.pending).toBe(sent.length);
    expect(waiting.callbacks[0]?.dropped).toBe(0);

    await receiver.up();
    const of = (deployment: string): ConvergeEvent[] =>
      bodies(receiver.on('/down')).filter((e) => e.deployment === deployment);
    await eventually(() => new Set(of(name).map((e) => e.id)).size === sent.length, 'all 12');
    // The deploy's own events (its manifest names the same receiver) arrive too: one running per instance.
    await eventually(
      () =>
        new Set(
          of(manifest.name)
            .filter((e) => e.type === 'instance.running')
            .map((e) => e.instance),
        ).size === result.records.length,
      "the deploy's instance.running events",
    );
    const order = firstArrivals(receiver.on('/down'));
    for (const instance of ['web/0', 'web/1', 'web/2']) {
      expect(order.get(instance)).toEqual(sent.filter((e) => e.instance === instance).map((e) => e.id));
    }
    await eventually(async () => (await status(name)).callbacks[0]?.pending === 0, 'the queue to empty');
    expect((await status(name)).callbacks[0]).toMatchObject({ delivered: sent.length, lastError: null });
  });

  it('does not follow a redirect: the event is refused, recorded and dropped, and the next one goes', async () => {
    const name = `cb-redirect-${suffix}`;
    const url = `${receiver.url}/moved`;
    receiver.status = (path) => (path === '/moved' ? 302 : 204);
    try {
      await notify(
        name,
        [{ url, events: ['instance.missing'] }],
        [event(name, 'db/0', 'instance.missing', 1), event(name, 'db/0', 'instance.missing', 2)],
      );
      await eventually(async () => (await status(name)).callbacks[0]?.rejected === 2, 'two refusals');
      expect(receiver.on('/moved')).toHaveLength(2); // each tried once: a refusal is not retried
      expect(receiver.on('/elsewhere')).toEqual([]);
      const s = await status(name);
      expect(s.callbacks[0]).toMatchObject({ delivered: 0, pending: 0, rejected: 2 });
      expect(s.notes.map((n) => n.text).join('\n')).toMatch(/HTTP 302: redirect not followed/);
    } finally {
      receiver.status = () => 204;
    }
  });

  it('without a secret nothing is sent: the events wait and the status says why', async () => {
    const queue = taskQueueFor('callbacks without secret');
    await startWorker(queue, {});
    const name = `cb-nosecret-${suffix}`;
    await notify(
      name,
      [{ url: `${receiver.url}/unsigned`, events: ['instance.error'] }],
      [event(name, 'api/0', 'instance.error', 1)],
      queue,
    );
    await eventually(async () => {
      const e = (await status(name)).callbacks[0]?.lastError?.message ?? '';
      return e.includes('no callback secret');
    }, 'the missing secret in status');
    expect(receiver.on('/unsigned')).toEqual([]);
    expect((await status(name)).callbacks[0]).toMatchObject({ pending: 1, dropped: 0 });
  });

  it('continues as new as its history grows, losing and reordering nothing', async () => {
    const name = `cb-can-${suffix}`;
    const url = `${receiver.url}/long`;
    // A low threshold and one event per delivery, so a few dozen events take several runs.
    await client.workflow.start<typeof callbackOutbox>('callbackOutbox', {
      taskQueue,
      workflowId: callbacksWorkflowId(name),
      args: [{ deployment: name, limits: { historyThreshold: 40, batchSize: 1 } }],
    });
    const sent: ConvergeEvent[] = [];
    for (let n = 1; n <= 24; n++) sent.push(event(name, `api/${n % 2}`, 'instance.running', n));
    for (let i = 0; i < sent.length; i += 6) {
      await notify(name, [{ url, events: ['instance.running'] }], sent.slice(i, i + 6));
    }
    await eventually(
      () => new Set(bodies(receiver.on('/long')).map((e) => e.id)).size === sent.length,
      'all 24',
    );
    const order = firstArrivals(receiver.on('/long'));
    for (const instance of ['api/0', 'api/1']) {
      expect(order.get(instance)).toEqual(sent.filter((e) => e.instance === instance).map((e) => e.id));
    }
    let runs = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowId = "${callbacksWorkflowId(name)}"` }))
      runs++;
    expect(runs).toBeGreaterThan(2);
    await eventually(async () => (await status(name)).callbacks[0]?.delivered === sent.length, 'counted');
  });

  it('the secret is nowhere in the histories the server keeps', async () => {
    const histories = await rawHistories(taskQueue);
    expect(histories.size).toBeGreaterThan(3);
    const outboxes = [...histories.keys()].filter((k) => k.startsWith('callbacks/'));
    expect(outboxes.length).toBeGreaterThanOrEqual(3);
    for (const [id, h] of histories) {
      const text = rawText(h);
      expect(text, id).not.toContain(SECRET);
      expect(text, id).not.toContain(Buffer.from(SECRET).toString('base64'));
    }
  });
});
