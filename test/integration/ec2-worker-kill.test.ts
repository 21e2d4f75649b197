// A worker SIGKILLed in the middle of a 20-instance EC2 deploy. The worker is a real process
// (`runWorker` with CONVERGE_CLOUD=ec2, as `converge worker` builds it) against moto and the region's
// quota ledger; a second worker takes over. The deploy converges, and EC2 never ran two instances for
// one claim: RunInstances is retried after the kill, and the idempotency tag finds the first one
// (moto ignores ClientToken). No allocation or volume is left without its instance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../scripts/chaos/processes';
import { Deployments } from '../../src/client/deployments';
import type { Cloud } from '../../src/cloud/port';
import { TAG } from '../../src/domain/cloud';
import type { Manifest } from '../../src/domain/manifest';
import { checkEc2Invariants, everMade } from '../support/ec2-invariants';
import { ec2Manifest } from '../support/ec2-fixtures';
import { MOTO_CREDENTIALS, MOTO_REGION, SKIP_MOTO, type MotoHandle } from '../support/moto';
import { startEc2Stage, type Ec2Stage } from '../support/ec2-stage';
import type { StartedRegion } from '../support/region';
import { closeTestConnections, taskQueueFor, testClient } from '../support/temporal';
import { WorkerProcesses } from '../support/worker-process';

const NAME = 'ec2kill';
const INSTANCES = 20;

/** The example groups (api, worker with disks, db with a static IP) grown to 20 instances. */
function twentyInstances(): Manifest {
  const m = ec2Manifest(NAME, '1.181');
  const others = m.instance_groups.filter((g) => g.name !== 'api').reduce((n, g) => n + g.instances, 0);
  for (const g of m.instance_groups) if (g.name === 'api') g.instances = INSTANCES - others;
  return m;
}

describe.skipIf(SKIP_MOTO)('EC2 (moto): a worker SIGKILLed mid-deploy', () => {
  let stage: Ec2Stage;
  let region: StartedRegion;
  let moto: MotoHandle;
  let cloud: Cloud;
  let deployments: Deployments;
  let cc: Ec2Stage['cc'];
  const taskQueue = taskQueueFor('ec2-worker-kill');
  const workers = new WorkerProcesses('ec2-kill', taskQueue);

  beforeAll(async () => {
    stage = await startEc2Stage();
    ({ region, moto, cc, cloud } = stage);
    deployments = new Deployments(await testClient(), { taskQueue, limits: { buildDeadlineMs: 60_000 } });
  });

  afterAll(async () => {
    await workers.stopAll();
    await stage?.stop();
    await closeTestConnections();
  });

  /** A worker process as `converge worker` runs, computing on moto with the region as quota ledger. */
  const startWorker = () =>
    workers.start({
      CONVERGE_CLOUD: 'ec2',
      CONVERGE_EC2_ENDPOINT: moto.url,
      // A modest rate (the default's order), so the deploy is still running when the kill comes.
      CONVERGE_EC2_RATE: '20',
      CONVERGE_EC2_BURST: '20',
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      CONVERGE_REGION_URL: region.url,
      CONVERGE_REGION_TOKEN: region.token,
    });

  it('converges after the kill with one instance per claim, no leaked allocation or volume', async () => {
    const manifest = twentyInstances();
    const first = await startWorker();
    const ticket = await deployments.deploy(NAME, { manifest, cloudConfig: cc });

    // Kill once EC2 runs some of the deployment's instances but not all: mid-deploy.
    let seen = 0;
    for (let i = 0; i < 600 && seen < 4; i++) {
      seen = (await everMade(moto.client, NAME)).length;
      if (seen < 4) await sleep(100);
    }
    expect(seen, 'instances before the kill').toBeGreaterThanOrEqual(4);
    await first.kill('SIGKILL');
    const atKill = (await everMade(moto.client, NAME)).length;
    expect(atKill, 'the kill came before the deploy had made everything').toBeLessThan(INSTANCES);

    await startWorker();
    const result = await deployments.wait(ticket);
    expect(result.status, JSON.stringify(result.failure)).toBe('converged');

    const report = await checkEc2Invariants({
      cloud,
      client: moto.client,
      deployment: NAME,
      records: result.records,
      desired: { manifest, cloudConfig: cc },
    });
    expect(report.violations, report.violations.join('\n')).toEqual([]);
    expect(report.observed.servers).toHaveLength(INSTANCES);
    expect(report.observed.allocations).toHaveLength(INSTANCES);

    // One instance per claim, ever (terminated ones included): the retried creates found their first.
    const made = await everMade(moto.client, NAME);
    const perClaim = new Map<string, number>();
    for (const i of made)
      perClaim.set(i.tags[TAG.claim] ?? '?', (perClaim.get(i.tags[TAG.claim] ?? '?') ?? 0) + 1);
    expect(
      [...perClaim.values()].filter((n) => n > 1),
      JSON.stringify([...perClaim]),
    ).toEqual([]);
    expect(made).toHaveLength(INSTANCES);

    // Every EBS volume of the deployment is one persistent disk, attached to a live instance.
    const disks = manifest.instance_groups.reduce(
      (n, g) =>
        n + (g.persistent_disk !== undefined || g.persistent_disk_type !== undefined ? g.instances : 0),
      0,
    );
    expect(report.observed.volumes).toHaveLength(disks);
    const live = new Set(report.observed.servers.map((s) => s.id));
    for (const v of report.observed.volumes) expect(live.has(v.server_id ?? ''), v.id).toBe(true);
  });
});
