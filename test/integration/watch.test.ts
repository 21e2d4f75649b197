// The watch on the real stack: a server deleted out of band in the region shows as instance.missing in
// the event log and status; with update.resurrect it is replaced by an ordinary recreate operation
// carrying the reason; three of ten gone at once with max_unhealthy 20% is a meltdown: nothing replaced.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_HEADERS, verifyCallback } from '../../src/activities';
import type { ConvergeEvent } from '../../src/domain/events';
import type { Manifest } from '../../src/domain/manifest';
import { operationWorkflowId, type DeploymentStatus } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { eventually, Receiver } from '../support/receiver';
import { testClient } from '../support/temporal';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();
const SECRET = randomBytes(32).toString('hex');
const receiver = new Receiver();
/** Short interval and grace so a test sees a change within seconds; the bound keeps idle passes short. */
const INTERVAL = 1;

beforeAll(async () => {
  await receiver.up();
  h = await startHarness('watch', {
    limits: { watchBoundMs: 20_000 },
    env: { CONVERGE_CALLBACK_SECRET: SECRET },
  });
});
afterAll(async () => {
  await h?.stop();
  await receiver.down();
});

function watched(name: string, instances: number, heal: Partial<Manifest['update']>): Manifest {
  return smallManifest(name, (m) => {
    m.instance_groups = m.instance_groups.slice(0, 1);
    const g = m.instance_groups[0];
    if (!g) throw new Error('the example has no group');
    g.instances = instances;
    g.persistent_disk = undefined;
    m.watch = { interval_seconds: INTERVAL };
    m.update = { ...m.update, max_in_flight: 5, ...heal };
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`never saw: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const eventsOf = async (name: string, type?: string): Promise<ConvergeEvent[]> =>
  (await h.deployments.events(name)).events.filter((e) => type === undefined || e.type === type);

async function deleteOutOfBand(status: DeploymentStatus, count: number): Promise<string[]> {
  const vms = status.instances.slice(0, count).map((r) => r.vm);
  for (const vm of vms) {
    if (vm) await h.region.client.deleteServer(vm);
  }
  return vms.filter((v): v is string => v !== null);
}

describe('watch', () => {
  it("a VM deleted out of band reaches a callback receiver as instance.missing, signed, after the deploy's own events", async () => {
    const name = 'watch-callback';
    const m = watched(name, 2, {});
    m.callbacks = [
      {
        url: `${receiver.url}/hook`,
        events: ['instance.missing', 'operation.started', 'operation.finished'],
      },
    ];
    expect((await h.deploy(m, cc)).status).toBe('converged');
    await deleteOutOfBand(await h.deployments.status(name), 1);
    const bodies = (): Array<ConvergeEvent & { raw: string; headers: Record<string, unknown> }> =>
      receiver
        .on('/hook')
        .map((r) => ({ ...(JSON.parse(r.body) as ConvergeEvent), raw: r.body, headers: r.headers }));
    await eventually(
      () => bodies().some((e) => e.type === 'instance.missing'),
      'instance.missing delivered',
      30_000,
    );
    const got = bodies().filter((e) => e.deployment === name);
    expect(got.map((e) => e.type)).toEqual(['operation.started', 'operation.finished', 'instance.missing']);
    const missing = got[2];
    expect(missing).toMatchObject({ instance: 'api/0', old: 'running', new: 'missing' });
    // The same id as the event log's: receivers dedupe on it.
    const logged = await eventsOf(name, 'instance.missing');
    expect(missing?.id).toBe(logged[0]?.id);
    for (const e of got) {
      const header = (n: string): string | undefined => {
        const v = e.headers[n.toLowerCase()];
        return typeof v === 'string' ? v : undefined;
      };
      const signed = verifyCallback(
        Buffer.from(SECRET, 'utf8'),
        { timestamp: header(CALLBACK_HEADERS.timestamp), signature: header(CALLBACK_HEADERS.signature) },
        e.raw,
        Math.floor(Date.now() / 1000),
      );
      expect(signed).toBe(true);
    }
  });

  it('resurrect off: a server deleted out of band is instance.missing in the log and status, and nothing else', async () => {
    const first = await h.deploy(watched('watch-off', 2, {}), cc);
    expect(first.status).toBe('converged');
    const log = await eventsOf('watch-off');
    expect(log.map((e) => e.type)).toContain('operation.started');
    expect(log.map((e) => e.type)).toContain('operation.finished');
    expect(log.filter((e) => e.type === 'instance.running')).toHaveLength(2);

    const [vm] = await deleteOutOfBand(await h.deployments.status('watch-off'), 1);
    const [missing] = await until('instance.missing', async () => {
      const e = await eventsOf('watch-off', 'instance.missing');
      return e.length ? e : null;
    });
    expect(missing).toMatchObject({
      deployment: 'watch-off',
      instance: 'api/0',
      old: 'running',
      new: 'missing',
    });
    const status = await h.deployments.status('watch-off');
    expect(status.instances.find((r) => r.index === 0)?.vm).toBeNull();
    expect(status.heal).toMatchObject({ watching: true, resurrect: false, meltdown: null });
    expect(status.heal?.trouble).toEqual([expect.objectContaining({ condition: 'missing', vm })]);
    // Several intervals later: still nothing started, the missing event logged once.
    await new Promise((r) => setTimeout(r, 3_000 * INTERVAL));
    const later = await h.deployments.status('watch-off');
    expect(later.recent).toHaveLength(1);
    expect(await eventsOf('watch-off', 'instance.missing')).toHaveLength(1);
  });

  it('resurrect on: the missing VM is replaced by a recreate operation that says why', async () => {
    const first = await h.deploy(
      watched('watch-heal', 2, { resurrect: true, resurrect_grace_seconds: 1 }),
      cc,
    );
    expect(first.status).toBe('converged');
    const [vm] = await deleteOutOfBand(await h.deployments.status('watch-heal'), 1);

    const resurrection = await until('a resurrect operation', async () => {
      const s = await h.deployments.status('watch-heal');
      return s.recent.find((r) => r.by === 'resurrector');
    });
    expect(resurrection.kind).toBe('recreate');
    expect(resurrection.reason).toMatch(/^resurrect: VM missing since \d{4}-\d\d-\d\dT/);
    const ticket = {
      deployment: 'watch-heal',
      operation: resurrection.operation,
      workflowId: operationWorkflowId('watch-heal', resurrection.seq),
      seq: resurrection.seq,
      kind: 'recreate' as const,
    };
    const result = await h.wait(ticket);
    expect(result.status).toBe('converged');
    expect(result.summary.create + result.summary.replace).toBe(1);
    const s = await h.deployments.status('watch-heal');
    const row = s.instances.find((r) => r.index === 0);
    expect(row?.vm).not.toBeNull();
    expect(row?.vm).not.toBe(vm);
    expect(s.heal?.lastResurrection).toBe(resurrection.reason);
    expect(s.recent.find((r) => r.operation === resurrection.operation)?.status).toBe('converged');
    // The reason is in the operation's plan too (and its static summary in the UI).
    expect((await h.deployments.operationPlan(ticket))?.reason).toBe(resurrection.reason);
    const types = (await eventsOf('watch-heal')).map((e) => `${e.type} ${e.instance ?? ''}`.trim());
    const missingAt = types.indexOf('instance.missing api/0');
    expect(missingAt).toBeGreaterThan(-1);
    expect(types.slice(missingAt)).toEqual(
      expect.arrayContaining(['operation.started', 'instance.running api/0', 'operation.finished']),
    );
    // The UI: the entity's current details name the operation and who asked; the operation's say why.
    const details = async (workflowId: string): Promise<string> =>
      (
        await (
          await testClient()
        ).workflow
          .getHandle(workflowId)
          .query<{ currentDetails?: string }>('__temporal_workflow_metadata')
      ).currentDetails ?? '';
    expect(await details('deployment/watch-heal')).toContain(
      `- ${resurrection.operation}: recreate watch-heal: 1 `,
    );
    expect(await details('deployment/watch-heal')).toContain('by resurrector: converged');
    const opDetails = await details(ticket.workflowId);
    expect(opDetails).toContain('**recreate watch-heal: 1 ');
    expect(opDetails).toContain(`why: ${resurrection.reason ?? ''}`);
    const started = (await eventsOf('watch-heal', 'operation.started')).at(-1);
    expect(started?.detail).toContain(`by resurrector: ${resurrection.reason ?? ''}`);
    await h.expectInvariants(result);
  });

  it('3 of 10 deleted at once with max_unhealthy 20%: meltdown, nothing recreated, said in status and log', async () => {
    const first = await h.deploy(
      watched('watch-melt', 10, { resurrect: true, resurrect_grace_seconds: 1, max_unhealthy: '20%' }),
      cc,
    );
    expect(first.status).toBe('converged');
    await deleteOutOfBand(await h.deployments.status('watch-melt'), 3);
    const message = 'meltdown: 3 of 10 unhealthy, not resurrecting';
    const melt = await until('a meltdown', async () => {
      const s = await h.deployments.status('watch-melt');
      return s.heal?.meltdown === message ? s : null;
    });
    expect(melt.instances.filter((r) => r.vm === null)).toHaveLength(3);
    // Well past the grace period: still nothing started.
    await new Promise((r) => setTimeout(r, 3_000));
    const later = await h.deployments.status('watch-melt');
    expect(later.recent.map((r) => r.by)).toEqual(['user']);
    expect(later.heal?.meltdown).toBe(message);
    const meltdowns = await eventsOf('watch-melt', 'deployment.meltdown');
    expect(meltdowns.map((e) => e.detail)).toEqual([message]);
    expect(await eventsOf('watch-melt', 'instance.missing')).toHaveLength(3);
  });
});
