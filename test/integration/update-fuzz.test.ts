// Bad updates sent straight through the Temporal client, past the CLI and the Deployments class
// (issue 5, DESIGN §9.5): for every update of the deployment entity, payloads that are bad by
// construction (never filtered by the validator under test). Each must be rejected with a
// ValidationError naming the bad field, never a JavaScript error, and a rejected update writes
// nothing: the entity's history has exactly as many events afterwards, no operation was started, and
// the region saw no call.
import {
  ApplicationFailure,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import {
  deleteUpdate,
  deployUpdate,
  instanceActionUpdate,
  recreateUpdate,
  startUpdate,
  statusQuery,
  stopUpdate,
} from '../../src/workflows/messages';
import { deploymentWorkflowId, type OperationTicket } from '../../src/workflows/types';
import {
  breakArb,
  breakDocument,
  oddValueArb,
  type BreakKind,
  type DocumentKind,
  type Json,
} from '../property/bad-input';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { lastEventSeq } from '../support/invariants';
import { startRegion, type StartedRegion } from '../support/region';
import {
  closeTestConnections,
  createTestWorker,
  requestEvents,
  taskQueueFor,
  testClient,
} from '../support/temporal';

const SEED = 5_000_007;
const SCALE = Number(process.env.CONVERGE_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });
const NAME = 'fuzzed';

let region: StartedRegion;
let taskQueue: string;
let worker: Worker;
let running: Promise<void>;
let client: Client;
let entity: WorkflowHandle;
const manifest = smallManifest(NAME) as unknown as Json;
const cc = cloudConfig() as unknown as Json;

beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 20, delete_ms: 20 } });
  taskQueue = taskQueueFor('update fuzz');
  worker = await createTestWorker({ taskQueue, cloud: region.client });
  running = worker.run();
  client = await testClient();
  const d = new Deployments(client, { taskQueue, limits: { buildDeadlineMs: 60_000 } });
  // A deployed, idle entity: every validator gets past "never deployed" and "busy" to the payload.
  const r = await d.wait(await d.deploy(NAME, { manifest: smallManifest(NAME), cloudConfig: cloudConfig() }));
  expect(r.status).toBe('converged');
  entity = client.workflow.getHandle(deploymentWorkflowId(NAME));
});

afterAll(async () => {
  const rows = [...tally.entries()].map(([kind, updates]) => ({ class: kind, updates }));
  console.log(
    `[update-fuzz] ${rows.reduce((n, r) => n + r.updates, 0)} bad updates (seed ${SEED}, scale ${SCALE})`,
  );
  console.table(rows);
  worker?.shutdown();
  await running;
  await region?.stop();
  await closeTestConnections();
});

const tally = new Map<string, number>();

type Send = (payload: Json) => Promise<unknown>;
const SENDERS: Record<string, Send> = {
  deploy: (p) => entity.executeUpdate(deployUpdate, { args: [p as never] }),
  stop: (p) => entity.executeUpdate(stopUpdate, { args: [p as never] }),
  start: (p) => entity.executeUpdate(startUpdate, { args: [p as never] }),
  recreate: (p) => entity.executeUpdate(recreateUpdate, { args: [p as never] }),
  instanceAction: (p) => entity.executeUpdate(instanceActionUpdate, { args: [p as never] }),
};

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Sends one bad update. It must come back rejected by the validator with a ValidationError (never a
 * TypeError or another accident of the code) whose problem list names `field` (a problem line starts
 * with it; '' is the whole request or document).
 */
async function rejected(kind: string, send: Send, payload: Json, field: string | RegExp): Promise<void> {
  let error: unknown;
  try {
    await send(payload);
  } catch (err) {
    error = err;
  }
  const shown = JSON.stringify(payload)?.slice(0, 300);
  expect(error, `accepted: ${kind} ${shown}`).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  const message = cause?.message ?? '';
  if (/is busy/.test(message)) {
    // Rejected for the wrong reason: an earlier "bad" update was accepted and its operation runs.
    const recent = (await entity.query(statusQuery)).recent.slice(0, 2);
    throw new Error(`rejected as busy, so an earlier update was accepted: ${JSON.stringify(recent)}`);
  }
  expect(cause, `${kind}: ${message}`).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type, `${kind} ${shown}: ${message}`).toBe('ValidationError');
  // A problem line: `[manifest |cloud config ]<field>: <message>` (the document it is in, when known).
  const fieldPattern = typeof field === 'string' ? escape(field === '' ? '(document)' : field) : field.source;
  const names = new RegExp(`^(?:(?:manifest|cloud config) )?(?:${fieldPattern}): `, 'm');
  expect(message, `${kind} ${shown}: should name ${String(field)}`).toMatch(names);
  tally.set(kind, (tally.get(kind) ?? 0) + 1);
}

describe('bad updates straight through the Temporal client', () => {
  let eventsBefore: string[];
  let seqBefore: number;
  let regionSeqBefore: number;

  beforeAll(async () => {
    eventsBefore = await requestEvents(entity);
    const status = await entity.query(statusQuery);
    expect(status.current).toBeNull();
    seqBefore = status.recent.length;
    regionSeqBefore = await lastEventSeq(region.client);
  });

  /** A deploy whose manifest or cloud config is broken by one of `kinds`; the field it broke must be named. */
  const brokenDeploys = (kinds: BreakKind[]) =>
    fc.asyncProperty(
      breakArb.filter((b) => kinds.includes(b.kind)),
      fc.constantFrom<DocumentKind>('manifest', 'cloud config'),
      async (b, which) => {
        const broken = breakDocument(which === 'manifest' ? manifest : cc, which, b);
        const payload =
          which === 'manifest'
            ? { manifest: broken.doc, cloudConfig: cc }
            : { manifest, cloudConfig: broken.doc };
        const what = broken.note.split(' ')[0];
        await rejected(`deploy: ${which} broken (${what})`, SENDERS.deploy!, payload, broken.field);
      },
    );

  it('deploy with documents broken by construction (unknown keys, wrong types, required keys dropped)', async () => {
    await fc.assert(brokenDeploys(['unknown-key', 'wrong-type', 'drop-required']), runs(120));
  });

  it('deploy with well-typed documents that are still wrong (negative counts, names that refer to nothing)', async () => {
    await fc.assert(brokenDeploys(['negative-count', 'dangling-reference']), runs(60));
  });

  it('deploy of another deployment’s manifest to this entity', async () => {
    for (const name of ['other', 'fuzzed2', 'FUZZED']) {
      const m = { ...(manifest as Record<string, Json>), name };
      await rejected('deploy: name mismatch', SENDERS.deploy!, { manifest: m, cloudConfig: cc }, 'name');
    }
  });

  it('deploy and instanceAction with a payload that is not an object', async () => {
    // (stop, start and recreate accept one today: see the gaps below)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('deploy', 'instanceAction'), oddValueArb, async (kind, value) => {
        fc.pre(value === null || typeof value !== 'object' || Array.isArray(value));
        await rejected(`${kind}: not an object`, SENDERS[kind]!, value, '');
      }),
      runs(80),
    );
  });

  it('stop, start and recreate naming instances that do not exist', async () => {
    const selectors = fc.array(
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('db', 'api/99', 'api/-1', 'worker/abc', 'api/', '/0', 'API', 'api/0 ', 'api//0'),
        oddValueArb,
      ),
      { minLength: 1, maxLength: 3 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('stop', 'start', 'recreate'), selectors, async (kind, instances) => {
        fc.pre(
          !instances.some(
            (s) => typeof s === 'string' && /^(api|worker)(\/[0-9]+|\/[0-9a-f-]{36})?$/.test(s),
          ),
        );
        await rejected(`${kind}: unknown instances`, SENDERS[kind]!, { instances }, /instances\[\d+\]/);
      }),
      runs(90),
    );
  });

  it('instance actions with unknown actions, unknown instances or missing fields', async () => {
    const payloads = fc.oneof(
      fc.record({ instance: fc.constant('api/0'), action: fc.oneof(fc.string(), oddValueArb) }),
      fc.record({
        instance: fc.oneof(fc.string(), oddValueArb),
        action: fc.constantFrom('start', 'stop', 'reboot'),
      }),
      fc.constantFrom<Json>(
        {},
        { instance: 'api/0' },
        { action: 'reboot' },
        { instance: 'api', action: 'reboot' },
      ),
    );
    await fc.assert(
      fc.asyncProperty(payloads, async (p) => {
        const o = p as { instance?: Json; action?: Json };
        const action = typeof o.action === 'string' ? o.action : '';
        const instance = typeof o.instance === 'string' ? o.instance : '';
        fc.pre(!(['start', 'stop', 'reboot'].includes(action) && /^(api|worker)\/[0-9]+$/.test(instance)));
        await rejected('instanceAction: bad', SENDERS.instanceAction!, p, /instance|action|\(document\)/);
      }),
      runs(60),
    );
  });

  it('afterwards: not one event more in the entity’s history, no operation started, no cloud call', async () => {
    // Nothing a request carried, and nothing it started. Bare workflow tasks (scheduled, started,
    // completed: no command, no message) and the watch's passes are left out (requestEvents): under
    // load the server keeps a rejected update's speculative task instead of dropping it (seen in CI at
    // load ~10, never at rest), and a pass returns whenever the cloud's status changes.
    const after = await requestEvents(entity);
    expect(after.slice(eventsBefore.length), 'events added').toEqual([]);
    expect(after).toEqual(eventsBefore);
    const status = await entity.query(statusQuery);
    expect(status.current).toBeNull();
    expect(status.recent.length).toBe(seqBefore);
    expect(await lastEventSeq(region.client)).toBe(regionSeqBefore);
  });
});

// Once gaps, now closed (src/workflows/validation.ts `checkRequest`): the validators parse each request
// object strictly, so options of the wrong type, unknown options and non-object payloads are rejected.
// Some did real harm before: `stop {hard: "no"}` was a hard stop; `recreate 42` recreated every VM.
describe('request objects: mistyped and unknown options are rejected', () => {
  const probes: [string, (entity: WorkflowHandle, name: string) => Promise<OperationTicket>][] = [
    [
      'deploy with recreate: "yes"',
      (e, name) =>
        e.executeUpdate(deployUpdate, {
          args: [{ manifest: tiny(name), cloudConfig: cc, recreate: 'yes' } as never],
        }),
    ],
    [
      'deploy with dryRun: "no" (runs as a dry run)',
      (e, name) =>
        e.executeUpdate(deployUpdate, {
          args: [{ manifest: tiny(name), cloudConfig: cc, dryRun: 'no' } as never],
        }),
    ],
    [
      'deploy with an unknown option',
      (e, name) =>
        e.executeUpdate(deployUpdate, {
          args: [{ manifest: tiny(name), cloudConfig: cc, force: true } as never],
        }),
    ],
    [
      'stop with hard: "no" (runs as a hard stop)',
      (e) => e.executeUpdate(stopUpdate, { args: [{ hard: 'no' } as never] }),
    ],
    [
      'stop with an unknown option',
      (e) => e.executeUpdate(stopUpdate, { args: [{ graceful: true } as never] }),
    ],
    ['stop with a number (stops everything)', (e) => e.executeUpdate(stopUpdate, { args: [42 as never] })],
    ['start with a string', (e) => e.executeUpdate(startUpdate, { args: ['api' as never] })],
    [
      'recreate with a number (recreates every VM)',
      (e) => e.executeUpdate(recreateUpdate, { args: [42 as never] }),
    ],
    ['delete with options', (e) => e.executeUpdate(deleteUpdate, { args: [{ force: true } as never] })],
    ['delete with a number', (e) => e.executeUpdate(deleteUpdate, { args: [42 as never] })],
  ];
  const nameOf = (i: number): string => `lenient-${i + 1}`;

  // One small, deployed, idle entity per probe (an accepted probe starts an operation), all at once.
  beforeAll(async () => {
    const d = new Deployments(client, { taskQueue, limits: { buildDeadlineMs: 60_000 } });
    const results = await Promise.all(
      probes.map(async (_p, i) =>
        d.wait(await d.deploy(nameOf(i), { manifest: tiny(nameOf(i)), cloudConfig: cloudConfig() })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(probes.map(() => 'converged'));
  });

  it.each(probes.map(([what, send], i) => ({ what, send, i })))(
    'rejects $what',
    async ({ what, send, i }) => {
      const handle = client.workflow.getHandle(deploymentWorkflowId(nameOf(i)));
      const before = await requestEvents(handle);
      let error: unknown;
      try {
        await send(handle, nameOf(i));
      } catch (err) {
        error = err;
      } finally {
        await idle(handle);
      }
      expect(error, `accepted: ${what}`).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (error as WorkflowUpdateFailedError).cause;
      expect((cause as ApplicationFailure).type).toBe('ValidationError');
      expect(cause?.message).toMatch(/^[\w.[\]()]+: invalid \w+ request: /);
      const status = await handle.query(statusQuery);
      expect(status.recent[0]?.operation).toBe('op-1');
      expect(status.instances.map((r) => r.state)).toEqual(['started']);
      expect(await requestEvents(handle)).toEqual(before);
    },
  );
});

/** Waits until the entity runs no operation (an accepted probe's operation must not outlive the test). */
async function idle(handle: WorkflowHandle): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const status = await handle.query(statusQuery).catch(() => null);
    if (status === null || status.current === null) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A one-instance deployment (the fuzzed one's shape, smaller). */
function tiny(name: string): Json {
  const m = smallManifest(name, (x) => {
    x.instance_groups = x.instance_groups.filter((g) => g.name === 'api');
    const g = x.instance_groups[0];
    if (g) g.instances = 1;
  });
  return m as unknown as Json;
}
