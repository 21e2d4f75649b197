// Permissions per resource pool on the real stack: a worker with a trust root (the admin key baked
// into its bundle), signed requests from the client, and every kind of bad request refused by the
// entity's validators: the entity's history gains not one event and the region sees no call.
import {
  ApplicationFailure,
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import { newIdentity, signGrant, signRequest, type Identity } from '../../src/client/identity';
import { UserError } from '../../src/domain/errors';
import { EXIT } from '../../src/domain/exit-codes';
import { temporal } from '@temporalio/proto';
import { CLOCK_SKEW_MS, type Permission } from '../../src/domain/permissions';
import {
  DEPLOYMENT_DELETED,
  cancelUpdate,
  deleteUpdate,
  deployUpdate,
  stopUpdate,
} from '../../src/workflows/messages';
import {
  DEFAULT_LIMITS,
  deploymentWorkflowId,
  type DeployRequest,
  type DeploymentInput,
  type DeploymentState,
} from '../../src/workflows/types';
import type { NonceEntry } from '../../src/workflows/signed-requests';
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

const admin = newIdentity('admin');
const granted = (who: Identity, permission: Permission, pool: string, by: Identity = admin): Identity => ({
  ...who,
  grants: [
    ...who.grants,
    signGrant(by, { principal: who.principal, key: who.publicKey, permission, pool, expires: null }),
  ],
});
const alice = granted(newIdentity('alice'), 'CLOUD_CREATE', 'dev');
const root = granted(newIdentity('root'), 'CLOUD_ADMIN', '*');
const mallory = granted(newIdentity('mallory'), 'CLOUD_ADMIN', '*', newIdentity('mallory-admin'));

let region: StartedRegion;
let worker: Worker;
let running: Promise<void>;
let client: Client;
const taskQueue = taskQueueFor('permissions');
const as = (identity: Identity | null): Deployments =>
  new Deployments(client, { taskQueue, limits: { buildDeadlineMs: 60_000 }, identity });

const cc = cloudConfig();
const web = smallManifest('perm-web');
const db = smallManifest('perm-db');
const webReq: DeployRequest = { manifest: web, cloudConfig: cc };

beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 20, delete_ms: 10 } });
  worker = await createTestWorker({
    taskQueue,
    cloud: region.client,
    env: { CONVERGE_ADMIN_PUBLIC_KEY: admin.publicKey },
  });
  running = worker.run();
  client = await testClient();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await region?.stop();
  await closeTestConnections();
});

/**
 * What the entity and the region have, to compare before and after refused requests: the entity's
 * events but for bare workflow tasks and the watch's passes (requestEvents), the region's last event
 * and its servers.
 */
async function snapshot(name: string): Promise<{ events: string[]; seq: number; servers: string[] }> {
  const events = await requestEvents(client.workflow.getHandle(deploymentWorkflowId(name)));
  const servers = (await region.client.listServers({})).map((s) => s.id).sort();
  return { events, seq: await lastEventSeq(region.client), servers };
}

async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    if (err instanceof UserError) {
      expect(err.exitCode, err.message).toBe(EXIT.denied);
      return err.message;
    }
    if (err instanceof WorkflowUpdateFailedError) return err.cause?.message ?? err.message;
    throw err;
  }
  throw new Error('the request was accepted');
}

describe('permissions per resource pool', () => {
  it('a granted principal deploys; missing, forged, expired, replayed, other-deployment and wrong-pool requests are refused and change nothing', async () => {
    const a = as(alice);
    const first = await a.wait(await a.deploy('perm-web', webReq));
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const second = await a.wait(await a.deploy('perm-db', { manifest: db, cloudConfig: cc }));
    expect(second.status).toBe('converged');

    // A request captured from the wire: signed for perm-web's deploy, accepted once.
    const captured = signRequest(alice, 'perm-web', 'deploy', webReq);
    const web = client.workflow.getHandle(deploymentWorkflowId('perm-web'));
    const accepted = await web.executeUpdate(deployUpdate, { args: [webReq, captured] });
    await a.wait(accepted);

    const before = await snapshot('perm-web');
    const beforeDb = await snapshot('perm-db');
    const expired = signRequest(alice, 'perm-web', 'deploy', webReq, Date.now() - 6 * 60_000);
    const forgedSignature = { ...signRequest(alice, 'perm-web', 'delete', {}), principal: 'root' };
    const prod = { ...webReq, manifest: { ...web, resource_pool: 'prod' } };

    const cases: Array<[string, () => Promise<unknown>, string]> = [
      [
        'missing',
        () => as(null).deploy('perm-web', webReq),
        "permission denied: the deploy request is not signed; this worker enforces permissions (create a key with 'converge auth keygen' and ask an admin for a grant)",
      ],
      [
        'forged grant (signed by an admin key the worker does not trust)',
        () => as(mallory).deploy('perm-web', webReq),
        "permission denied: mallory lacks CLOUD_CREATE on resource pool 'dev'",
      ],
      [
        'forged signature (principal renamed)',
        () => web.executeUpdate(deleteUpdate, { args: [{}, forgedSignature] }),
        'permission denied: the request signature does not verify for root',
      ],
      [
        'expired',
        () => web.executeUpdate(deployUpdate, { args: [webReq, expired] }),
        `permission denied: alice's request expired at ${new Date(expired.claim.expires).toISOString()}`,
      ],
      [
        'replayed',
        () => web.executeUpdate(deployUpdate, { args: [webReq, captured] }),
        "permission denied: alice's request was already used (a replayed request)",
      ],
      [
        'other deployment',
        () =>
          client.workflow
            .getHandle(deploymentWorkflowId('perm-db'))
            .executeUpdate(deployUpdate, { args: [webReq, captured] }),
        "permission denied: alice's request was signed for deployment 'perm-web', not 'perm-db'",
      ],
      [
        'wrong pool',
        () => as(alice).deploy('perm-web', prod),
        "permission denied: alice lacks CLOUD_CREATE on resource pool 'prod'",
      ],
      [
        'CLOUD_CREATE does not delete',
        () => as(alice).delete('perm-web'),
        "permission denied: alice lacks CLOUD_ADMIN on resource pool 'dev'",
      ],
      [
        'CLOUD_CREATE does not hard-stop',
        () =>
          web.executeUpdate(stopUpdate, {
            args: [{ hard: true }, signRequest(alice, 'perm-web', 'stop-hard', { hard: true })],
          }),
        "permission denied: alice lacks CLOUD_ADMIN on resource pool 'dev'",
      ],
      [
        'unsigned cancel',
        () => web.executeUpdate(cancelUpdate, { args: [{}] }),
        'permission denied: the cancel request is not signed',
      ],
      [
        'CLOUD_CREATE does not hard-stop now',
        () => as(alice).hardStop('perm-web'),
        "permission denied: alice lacks CLOUD_ADMIN on resource pool 'dev'",
      ],
      [
        'CLOUD_CREATE does not cloud-check (a resolution may delete servers and disks)',
        () => as(alice).cck('perm-web', {}),
        "permission denied: alice lacks CLOUD_ADMIN on resource pool 'dev'",
      ],
    ];
    for (const [name, call, expected] of cases) {
      expect(await refusal(call), name).toContain(expected);
    }

    expect(await snapshot('perm-web')).toEqual(before);
    expect(await snapshot('perm-db')).toEqual(beforeDb);
  });

  it('CLOUD_ADMIN on every pool may cloud-check and delete', async () => {
    const r = as(root);
    const check = await r.wait(await r.cck('perm-db', {}));
    expect(check.status, JSON.stringify(check.failure)).toBe('planned');
    expect(check.problems).toEqual([]);
    const deleted = await r.wait(await r.delete('perm-db'));
    expect(deleted.status, JSON.stringify(deleted.failure)).toBe('converged');
  });

  it('a deploy request captured before a delete is refused after it; a fresh one begins the next incarnation', async () => {
    const name = 'perm-again';
    const req: DeployRequest = { manifest: smallManifest(name), cloudConfig: cc };
    const a = as(alice);
    const first = await a.wait(await a.deploy(name, req));
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const entity = client.workflow.getHandle(deploymentWorkflowId(name));
    // Captured from the wire in the minutes before the delete: accepted once, still unexpired.
    const captured = signRequest(alice, name, 'deploy', req);
    await a.wait(await entity.executeUpdate(deployUpdate, { args: [req, captured] }));
    const deleted = await as(root).wait(await as(root).delete(name));
    expect(deleted.status, JSON.stringify(deleted.failure)).toBe('converged');
    const runId = (await entity.describe()).runId;

    // The attacker replays it as the CLI deploys (update-with-start), waiting out a closing run.
    const replay = async (): Promise<string> => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await client.workflow.executeUpdateWithStart(deployUpdate, {
            args: [req, captured],
            startWorkflowOperation: new WithStartWorkflowOperation('deployment', {
              workflowId: deploymentWorkflowId(name),
              taskQueue,
              args: [{ name }],
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          });
          return 'accepted';
        } catch (err) {
          if (!(err instanceof WorkflowUpdateFailedError)) throw err;
          const cause = err.cause;
          if (!(cause instanceof ApplicationFailure) || cause.type !== DEPLOYMENT_DELETED) {
            return cause?.message ?? err.message;
          }
          await Promise.race([entity.result().catch(() => undefined), sleep(30_000)]);
        }
      }
      return 'refused as deleted twice';
    };
    const before = await snapshot(name);
    expect(await replay()).toBe("permission denied: alice's request was already used (a replayed request)");
    expect(await snapshot(name)).toEqual(before);
    // Meanwhile the deployment is deleted: not listed, and other requests are refused as before.
    expect(await a.find(name)).toBeNull();
    expect((await as(root).list()).map((d) => d.deployment)).not.toContain(name);
    await expect(as(root).stop(name, {})).rejects.toThrow(`deployment ${name} has been deleted`);

    // A freshly signed deploy is accepted at once and starts over at op-1, in the same run.
    const second = await a.wait(await a.deploy(name, req));
    expect(second.status, JSON.stringify(second.failure)).toBe('converged');
    expect(second.operation).toBe('op-1');
    expect((await entity.describe()).runId).toBe(runId);
    for (const r of second.records) expect(first.records.map((f) => f.id)).not.toContain(r.id);
    expect((await a.status(name)).recent.map((r) => r.operation)).toEqual(['op-1']);
    // The next incarnation kept the nonces: the captured request is still refused.
    const after = await snapshot(name);
    expect(await refusal(() => entity.executeUpdate(deployUpdate, { args: [req, captured] }))).toBe(
      "permission denied: alice's request was already used (a replayed request)",
    );
    expect(await snapshot(name)).toEqual(after);
  });

  // What a lingering entity hands on when the server suggests continue-as-new: its deleted state with
  // the nonces. The new run is started here with such an input, as continue-as-new would start it.
  const carried = (name: string, nonces: NonceEntry[]): DeploymentInput => {
    const state: DeploymentState = {
      name,
      records: [],
      manifest: smallManifest(name),
      cloudConfig: cc,
      manifestDigest: '0123456789abcdef',
      seq: 2,
      recent: [],
      projection: [],
      lastPlan: null,
      deleted: true,
      limits: { ...DEFAULT_LIMITS, buildDeadlineMs: 60_000 },
      incarnation: '0badcafe',
      nonces,
    };
    return { name, state };
  };

  it('a lingering entity carried across continue-as-new still refuses the captured request and takes a fresh deploy', async () => {
    const name = 'perm-carried';
    const req: DeployRequest = { manifest: smallManifest(name), cloudConfig: cc };
    const captured = signRequest(alice, name, 'deploy', req);
    const entity = await client.workflow.start('deployment', {
      workflowId: deploymentWorkflowId(name),
      taskQueue,
      args: [carried(name, [{ nonce: captured.claim.nonce, expires: captured.claim.expires }])],
    });
    const a = as(alice);
    expect((await a.status(name)).deleted).toBe(true);
    const before = await snapshot(name);
    expect(await refusal(() => entity.executeUpdate(deployUpdate, { args: [req, captured] }))).toBe(
      "permission denied: alice's request was already used (a replayed request)",
    );
    expect(await snapshot(name)).toEqual(before);
    const next = await a.wait(await a.deploy(name, req));
    expect(next.status, JSON.stringify(next.failure)).toBe('converged');
    expect(next.operation).toBe('op-1');
    expect((await entity.describe()).runId).toBe(entity.firstExecutionRunId);
  });

  it('a deleted entity completes once the last nonce it holds has expired (plus the clock skew)', async () => {
    const name = 'perm-expiring';
    // Expired a while ago: only a few seconds of the skew are left.
    const expires = Date.now() - CLOCK_SKEW_MS + 10_000;
    const entity = await client.workflow.start('deployment', {
      workflowId: deploymentWorkflowId(name),
      taskQueue,
      args: [carried(name, [{ nonce: 'n-1', expires }])],
    });
    const state = (await entity.result()) as DeploymentState;
    expect(state.deleted).toBe(true);
    const types = ((await entity.fetchHistory()).events ?? []).map(
      (e) => temporal.api.enums.v1.EventType[e.eventType ?? 0],
    );
    // It waited for the skew (a timer), then completed without being asked.
    expect(types.filter((t) => t === 'EVENT_TYPE_TIMER_FIRED')).toHaveLength(1);
    expect(types.at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    // A deploy now starts a new run: the deployment lives again.
    const a = as(alice);
    const req: DeployRequest = { manifest: smallManifest(name), cloudConfig: cc };
    const again = await a.wait(await a.deploy(name, req));
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    expect((await client.workflow.getHandle(deploymentWorkflowId(name)).describe()).runId).not.toBe(
      entity.firstExecutionRunId,
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
