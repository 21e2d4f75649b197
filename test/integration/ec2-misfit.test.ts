// The worker's own net for a cloud config EC2 cannot honour, when the CLI was not told the cloud (no
// --cloud ec2, no CONVERGE_CLOUD): the operation reads the worker's cloud with its settings and fails
// before any step, naming each field; EC2 (moto) is never asked to create anything, and no quota is
// allocated. A dry run reports the same and plans nothing into the cloud either. A stemcell with no AMI
// is refused the same way, before RunInstances meets InvalidAMIID.
import { RegisterImageCommand } from '@aws-sdk/client-ec2';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import type { Ec2Compute } from '../../src/cloud/ec2';
import { NON_RETRYABLE } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';
import { cloudConfigSchema } from '../../src/domain/cloud-config';
import { everMade } from '../support/ec2-invariants';
import { ec2Manifest } from '../support/ec2-fixtures';
import { SKIP_MOTO, type MotoHandle } from '../support/moto';
import { startEc2Stage, type Ec2Stage } from '../support/ec2-stage';
import type { StartedRegion } from '../support/region';
import { closeTestConnections, createTestWorker, taskQueueFor, testClient } from '../support/temporal';

const NAME = 'ec2misfit';

describe.skipIf(SKIP_MOTO)('EC2 (moto): a cloud config EC2 cannot honour, past the CLI', () => {
  let stage: Ec2Stage;
  let region: StartedRegion;
  let moto: MotoHandle;
  let ec2: Ec2Compute;
  let worker: Worker;
  let running: Promise<void>;
  let deployments: Deployments;
  let bad: Ec2Stage['cc'];
  const taskQueue = taskQueueFor('ec2-misfit');

  beforeAll(async () => {
    stage = await startEc2Stage();
    ({ region, moto, ec2 } = stage);
    // The z2 subnet without its subnet_id, and a misspelt instance type field on 'small'.
    const raw = structuredClone(stage.cc);
    const second = raw.networks[0]?.subnets[1];
    if (second) second.cloud_properties = {};
    const small = raw.vm_types.find((t) => t.name === 'small');
    if (small) small.cloud_properties = { instance_typ: 't3.small' };
    bad = cloudConfigSchema.parse(raw);
    worker = await createTestWorker({
      taskQueue,
      cloud: stage.cloud,
      cloudKind: 'ec2',
    });
    running = worker.run();
    deployments = new Deployments(await testClient(), { taskQueue, limits: { buildDeadlineMs: 60_000 } });
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await stage?.stop();
    await closeTestConnections();
  });

  it('fails before any step, naming each field; nothing created in EC2, no allocation', async () => {
    const manifest = ec2Manifest(NAME, '1.181');
    const dry = await deployments.wait(
      await deployments.deploy(NAME, { manifest, cloudConfig: bad, dryRun: true }),
    );
    expect(dry.status).toBe('planned');
    expect(dry.failure?.message).toContain('networks[0].subnets[1].cloud_properties.subnet_id');

    const result = await deployments.wait(await deployments.deploy(NAME, { manifest, cloudConfig: bad }));
    expect(result.status).toBe('failed');
    expect(result.failure?.type).toBe('InvalidInput');
    expect(result.failure?.step).toBeNull();
    const message = result.failure?.message ?? '';
    expect(message).toContain('the worker computes on ec2');
    expect(message).toContain(
      'cloud config networks[0].subnets[1].cloud_properties.subnet_id: required for EC2',
    );
    expect(message).toContain(
      "cloud config vm_types[0].cloud_properties.instance_typ: unknown field 'instance_typ'",
    );
    expect(result.stepsDone ?? 0).toBe(0);

    expect(await everMade(moto.client, NAME)).toEqual([]);
    expect(ec2.stats.calls.RunInstances ?? 0).toBe(0);
    expect(await region.client.listAllocations({ [TAG.deployment]: NAME })).toEqual([]);
  });

  it('a stemcell with no AMI: fails before any step, naming it and the AMIs EC2 has; an AMI found by its name pattern is enough', async () => {
    const name = 'ec2noami';
    const manifest = ec2Manifest(name, '1.404');
    const runs = ec2.stats.calls.RunInstances ?? 0;
    const result = await deployments.wait(
      await deployments.deploy(name, { manifest, cloudConfig: stage.cc }),
    );
    expect(result.status).toBe('failed');
    expect(result.failure?.type).toBe(NON_RETRYABLE.imageNotFound);
    expect(result.failure?.step).toBeNull();
    expect(result.failure?.message).toMatch(
      /^stemcell default \(ubuntu-jammy\/1\.404\) has no image in the cloud, so the new VMs of .* cannot be created; the cloud has ubuntu-jammy\/1\.181\./,
    );
    expect(result.stepsDone).toBe(0);
    expect(await everMade(moto.client, name)).toEqual([]);
    expect(ec2.stats.calls.RunInstances ?? 0).toBe(runs);
    expect(await region.client.listAllocations({ [TAG.deployment]: name })).toEqual([]);

    // An AMI named by the pattern, without the stemcell tags: not listed, but found as a create finds it.
    await moto.client.send(
      new RegisterImageCommand({
        Name: 'converge-stemcell-ubuntu-jammy-1.404',
        RootDeviceName: '/dev/sda1',
        Architecture: 'x86_64',
        VirtualizationType: 'hvm',
      }),
    );
    const dry = await deployments.wait(
      await deployments.deploy(name, { manifest, cloudConfig: stage.cc, dryRun: true }),
    );
    expect(dry.status).toBe('planned');
    expect(dry.failure).toBeNull();
  });
});
