// The whole life of a deployment on EC2: real workflows on the suite's Temporal dev server, the real
// activities through the EC2 adapter against moto's EC2 API server, quota in the region's ledger
// (as CONVERGE_CLOUD=ec2 wires it). Every step ends on DESIGN §9 (test/support/ec2-invariants.ts).
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import type { Ec2Compute } from '../../src/cloud/ec2';
import type { Cloud } from '../../src/cloud/port';
import { TAG } from '../../src/domain/cloud';
import type { Manifest } from '../../src/domain/manifest';
import type { OperationResult } from '../../src/workflows/types';
import { checkEc2Invariants, everMade } from '../support/ec2-invariants';
import { ec2Manifest } from '../support/ec2-fixtures';
import { MOTO_CREDENTIALS, SKIP_MOTO, type MotoHandle } from '../support/moto';
import { startEc2Stage, type Ec2Stage } from '../support/ec2-stage';
import type { StartedRegion } from '../support/region';
import { closeTestConnections, createTestWorker, taskQueueFor, testClient } from '../support/temporal';

const NAME = 'ec2web';

describe.skipIf(SKIP_MOTO)(
  'EC2 (moto): deploy, no-op, hot_swap to a new AMI, static IP, hard stop, start, delete',
  () => {
    let stage: Ec2Stage;
    let region: StartedRegion;
    let moto: MotoHandle;
    let ec2: Ec2Compute;
    let cloud: Cloud;
    let worker: Worker;
    let running: Promise<void>;
    let deployments: Deployments;
    let cc: Ec2Stage['cc'];
    const taskQueue = taskQueueFor('ec2-lifecycle');

    beforeAll(async () => {
      stage = await startEc2Stage(['1.181', '1.182']);
      ({ region, moto, cc, ec2, cloud } = stage);
      worker = await createTestWorker({ taskQueue, cloud });
      running = worker.run();
      deployments = new Deployments(await testClient(), { taskQueue, limits: { buildDeadlineMs: 60_000 } });
    });

    afterAll(async () => {
      worker?.shutdown();
      await running;
      await stage?.stop();
      await closeTestConnections();
    });

    async function deploy(m: Manifest): Promise<OperationResult> {
      return deployments.wait(await deployments.deploy(m.name, { manifest: m, cloudConfig: cc }));
    }

    async function expectInvariants(result: OperationResult, desired?: Manifest) {
      const report = await checkEc2Invariants({
        cloud,
        client: moto.client,
        deployment: result.deployment,
        records: result.records,
        ...(desired ? { desired: { manifest: desired, cloudConfig: cc } } : {}),
      });
      expect(report.violations, report.violations.join('\n')).toEqual([]);
      return report;
    }

    const manifest = ec2Manifest(NAME, '1.181');
    const newAmi = ec2Manifest(NAME, '1.182');

    it('fresh deploy: six instances in their subnets, the static IP on db, a volume per disk', async () => {
      const result = await deploy(manifest);
      expect(result.status, JSON.stringify(result.failure)).toBe('converged');
      const { observed } = await expectInvariants(result, manifest);
      expect(observed.servers).toHaveLength(6);
      expect(observed.allocations).toHaveLength(6);
      expect(observed.volumes).toHaveLength(3); // worker ×2, db ×1
      const db = observed.servers.find((s) => s.tags[TAG.group] === 'db');
      expect(db?.addresses.map((a) => a.ip)).toEqual(['10.30.0.10']);
      for (const s of observed.servers) {
        // z1 is the subnet 10.30.0.0/22 in us-east-1a, z2 10.30.4.0/22 in us-east-1b.
        const third = Number((s.addresses[0]?.ip ?? '').split('.')[2]);
        expect(s.az === 'z1' ? third < 4 : third >= 4 && third < 8, `${s.az} ${s.addresses[0]?.ip}`).toBe(
          true,
        );
        expect(s.image).toEqual({ os: 'ubuntu-jammy', version: '1.181' });
        // The director's addresses: a dynamic VM gets none of the cloud config's reserved or static ones.
        const last = Number((s.addresses[0]?.ip ?? '').split('.')[3]);
        if (s.tags[TAG.group] !== 'db')
          expect(third === 0 ? last <= 30 : third === 4 && last <= 9, `${s.addresses[0]?.ip}`).toBe(false);
      }
    });

    it('no-op redeploy: zero steps, no EC2 call that changes anything', async () => {
      const before = { ...ec2.stats.calls };
      const result = await deploy(manifest);
      expect(result.status).toBe('converged');
      expect(result.stepsTotal).toBe(0);
      for (const action of [
        'RunInstances',
        'TerminateInstances',
        'CreateVolume',
        'AttachVolume',
        'DetachVolume',
      ])
        expect(ec2.stats.calls[action] ?? 0, action).toBe(before[action] ?? 0);
      await expectInvariants(result, manifest);
    });

    it('hot_swap to a new AMI: every VM replaced, disks moved (same volumes), the static IP by delete_create', async () => {
      const before = await checkEc2Invariants({ cloud, client: moto.client, deployment: NAME, records: [] });
      const volumes = before.observed.volumes.map((v) => v.id).sort();
      const oldDb = before.observed.servers.find((s) => s.tags[TAG.group] === 'db');
      const result = await deploy(newAmi);
      expect(result.status, JSON.stringify(result.failure)).toBe('converged');
      const { observed } = await expectInvariants(result, newAmi);
      expect(observed.servers).toHaveLength(6);
      for (const s of observed.servers) expect(s.image.version).toBe('1.182');
      expect(
        observed.servers.map((s) => s.id).filter((id) => before.observed.servers.some((o) => o.id === id)),
      ).toEqual([]);
      expect(observed.volumes.map((v) => v.id).sort()).toEqual(volumes);
      const db = observed.servers.find((s) => s.tags[TAG.group] === 'db');
      expect(db?.id).not.toBe(oldDb?.id);
      expect(db?.addresses.map((a) => a.ip)).toEqual(['10.30.0.10']);
    });

    it('stop --hard deletes every VM two-stage and keeps the EBS volumes; start brings them back on the same volumes', async () => {
      const before = await checkEc2Invariants({ cloud, client: moto.client, deployment: NAME, records: [] });
      const volumes = before.observed.volumes.map((v) => v.id).sort();
      const stopped = await deployments.wait(await deployments.stop(NAME, { hard: true }));
      expect(stopped.status, JSON.stringify(stopped.failure)).toBe('converged');
      const down = await expectInvariants(stopped);
      expect(down.observed.servers).toEqual([]);
      expect(down.observed.allocations).toEqual([]);
      expect(down.observed.volumes.map((v) => v.id).sort()).toEqual(volumes);
      expect(down.observed.volumes.every((v) => v.server_id === null)).toBe(true);

      const started = await deployments.wait(await deployments.start(NAME));
      expect(started.status, JSON.stringify(started.failure)).toBe('converged');
      const up = await expectInvariants(started, newAmi);
      expect(up.observed.servers).toHaveLength(6);
      expect(up.observed.volumes.map((v) => v.id).sort()).toEqual(volumes);
      expect(up.observed.volumes.every((v) => up.observed.servers.some((s) => s.id === v.server_id))).toBe(
        true,
      );
    });

    it('delete: no instance, allocation or volume left', async () => {
      const result = await deployments.wait(await deployments.delete(NAME));
      expect(result.status, JSON.stringify(result.failure)).toBe('converged');
      const { observed, everMade: made } = await expectInvariants(result);
      expect(observed).toEqual({ servers: [], allocations: [], volumes: [] });
      const ever = await everMade(moto.client, NAME);
      expect(ever.every((i) => i.state === 'terminated')).toBe(true);
      expect(made).toBe(ever.length);
      expect(await region.client.listAllocations({ [TAG.deployment]: NAME })).toEqual([]);
    });

    it('the AWS credentials appear in no history: every workflow of the run, payloads read raw (no codec)', async () => {
      const client = await testClient();
      const texts: string[] = [];
      for await (const wf of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
        const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        // Payload bytes as text (no codec), as anyone reading the server's store would see them.
        texts.push(
          JSON.stringify(history, (key, v: unknown) => {
            if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
            if (key === 'data' && typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
            return v;
          }),
        );
      }
      const all = texts.join('\n');
      // The check can fail: the histories are readable and carry the deployment's EC2 work.
      expect(texts.length).toBeGreaterThanOrEqual(6); // the entity and its operations
      expect(all.includes('t3.small')).toBe(true);
      expect(all.includes(TAG.deployment)).toBe(true);
      for (const secret of [MOTO_CREDENTIALS.accessKeyId, MOTO_CREDENTIALS.secretAccessKey])
        expect(all.includes(secret), 'a credential in a history').toBe(false);
    });
  },
);
