// Preflight for EC2, through the real binary. A cloud config EC2 cannot honour fails `deploy` and
// `plan` with exit 2 and the field's path and line, before the CLI dials Temporal (so no history can
// exist: Temporal is unreachable here, and dialing it would exit 4). The worker's start-up line says
// whether EC2 (a real moto) answers a signed call, or why not, in one line without a stack.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/processes';
import { EXIT } from '../../src/domain/exit-codes';
import { runConverge } from '../support/cli';
import { MOTO_CREDENTIALS, MOTO_REGION, SKIP_MOTO, startMoto, type MotoHandle } from '../support/moto';

const NO_TEMPORAL = { ...process.env, CONVERGE_DEBUG: '', TEMPORAL_ADDRESS: '127.0.0.1:1' };

const MANIFEST = `name: web
resource_pool: dev
stemcells: [{ alias: default, os: ubuntu-jammy, version: "1.181" }]
update: { canaries: 1, max_in_flight: 2 }
instance_groups:
  - name: api
    instances: 2
    azs: [z1, z2]
    vm_type: small
    stemcell: default
    networks: [{ name: default }]
`;

/** An EC2 cloud config with a typo in z1's vm_type and no subnet_id on the z2 subnet. */
const BAD_EC2_CLOUD_CONFIG = `azs:
  - { name: z1, cloud_properties: { availability_zone: us-east-1a } }
  - { name: z2, cloud_properties: { availability_zone: us-east-1b } }
vm_types:
  - name: small
    cpus: 2
    memory_mb: 2048
    disk_gb: 15
    cloud_properties: { instance_typ: t3.small }
networks:
  - name: default
    subnets:
      - { range: 10.30.0.0/22, gateway: 10.30.0.1, azs: [z1], cloud_properties: { subnet_id: subnet-0a1b } }
      - { range: 10.30.4.0/22, gateway: 10.30.4.1, azs: [z2], cloud_properties: {} }
`;

const GOOD_EC2_CLOUD_CONFIG = BAD_EC2_CLOUD_CONFIG.replace('instance_typ:', 'instance_type:').replace(
  'cloud_properties: {} }',
  'cloud_properties: { subnet_id: subnet-4e5f } }',
);

function inputs(cloudConfig: string): { manifest: string; cc: string } {
  const dir = mkdtempSync(join(tmpdir(), 'converge-ec2-preflight-'));
  const manifest = join(dir, 'web.yml');
  const cc = join(dir, 'cloud-config.yml');
  writeFileSync(manifest, MANIFEST);
  writeFileSync(cc, cloudConfig);
  return { manifest, cc };
}

function expectNamedFields(stderr: string, cc: string): void {
  expect(stderr).toContain(`${cc}:9:`); // the line of vm_types[0].cloud_properties.instance_typ
  expect(stderr).toContain(
    "vm_types[0].cloud_properties.instance_typ: unknown field 'instance_typ' for EC2 — did you mean 'instance_type'?",
  );
  expect(stderr).toContain('vm_types[0].cloud_properties.instance_type: required for EC2');
  expect(stderr).toContain('networks[0].subnets[1].cloud_properties.subnet_id: required for EC2');
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe.concurrent('a cloud config EC2 cannot honour', () => {
  it('deploy --cloud ec2: exit 2 naming each field, before Temporal is dialed', async () => {
    const { manifest, cc } = inputs(BAD_EC2_CLOUD_CONFIG);
    const run = await runConverge(['deploy', manifest, '-c', cc, '--cloud', 'ec2', '--yes'], {
      env: NO_TEMPORAL,
    });
    expect(run.code, run.stderr).toBe(EXIT.usage);
    expectNamedFields(run.stderr, cc);
    expect(run.stderr).not.toContain('cannot reach Temporal');
  });

  it('plan with CONVERGE_CLOUD=ec2 (the worker’s variable): the same problems, exit 2', async () => {
    const { manifest, cc } = inputs(BAD_EC2_CLOUD_CONFIG);
    const run = await runConverge(['plan', manifest, '-c', cc], {
      env: { ...NO_TEMPORAL, CONVERGE_CLOUD: 'ec2' },
    });
    expect(run.code, run.stderr).toBe(EXIT.usage);
    expectNamedFields(run.stderr, cc);
  });

  it('the same files against the region plan fine: the check belongs to EC2', async () => {
    const { manifest, cc } = inputs(BAD_EC2_CLOUD_CONFIG);
    const run = await runConverge(['plan', manifest, '-c', cc, '--cloud', 'region'], { env: NO_TEMPORAL });
    expect(run.code, run.stderr).toBe(EXIT.ok);
  });

  it('a cloud config EC2 can honour passes the check and goes on to Temporal (unreachable here: 4)', async () => {
    const { manifest, cc } = inputs(GOOD_EC2_CLOUD_CONFIG);
    const run = await runConverge(['deploy', manifest, '-c', cc, '--cloud', 'ec2', '--yes'], {
      env: NO_TEMPORAL,
    });
    expect(run.code, run.stderr).toBe(EXIT.unreachable);
  });

  it('an unknown --cloud is bad usage', async () => {
    const { manifest, cc } = inputs(GOOD_EC2_CLOUD_CONFIG);
    const run = await runConverge(['plan', manifest, '-c', cc, '--cloud', 'gce'], { env: NO_TEMPORAL });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("--cloud must be one of region, ec2, got 'gce'");
  });
});

describe.skipIf(SKIP_MOTO)('the worker checks EC2 at start-up (moto)', () => {
  let moto: MotoHandle;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  /** The worker's env: EC2 at `endpoint`, Temporal out of reach (the worker stops after its cloud line). */
  function workerEnv(endpoint: string, credentials: boolean): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...NO_TEMPORAL,
      CONVERGE_CLOUD: 'ec2',
      CONVERGE_EC2_ENDPOINT: endpoint,
      AWS_REGION: MOTO_REGION,
      // Nowhere else to find credentials: no profile files, no instance metadata.
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    delete env.AWS_PROFILE;
    delete env.AWS_SESSION_TOKEN;
    if (credentials) {
      env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId;
      env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey;
    } else {
      delete env.AWS_ACCESS_KEY_ID;
      delete env.AWS_SECRET_ACCESS_KEY;
    }
    return env;
  }

  function oneLine(stderr: string): string {
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    return lines[0] ?? '';
  }

  it('EC2 answers: one line naming the region, endpoint and zones; then it goes on to Temporal', async () => {
    const run = await runConverge(['worker'], { env: workerEnv(moto.url, true), timeoutMs: 60_000 });
    expect(run.stdout).toContain(
      `cloud: EC2 us-east-1 at ${moto.url}, credentials accepted, zones us-east-1a, us-east-1b`,
    );
    expect(run.code).toBe(EXIT.failed);
    expect(oneLine(run.stderr)).toMatch(/^converge worker: cannot reach Temporal/);
  });

  it('no credentials anywhere: one line saying so, exit 1, never the secret or a stack', async () => {
    const run = await runConverge(['worker'], { env: workerEnv(moto.url, false), timeoutMs: 60_000 });
    expect(run.code).toBe(EXIT.failed);
    const line = oneLine(run.stderr);
    expect(line).toMatch(/^converge worker: cannot use EC2 us-east-1 at http:\/\/127\.0\.0\.1:\d+: /);
    expect(line).toMatch(/credentials/i);
    expect(run.stdout).not.toContain('credentials accepted');
  });

  it('an endpoint nobody serves: one line, exit 1', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const run = await runConverge(['worker'], { env: workerEnv(dead, true), timeoutMs: 60_000 });
    expect(run.code).toBe(EXIT.failed);
    const line = oneLine(run.stderr);
    expect(line).toContain(
      `converge worker: cannot use EC2 us-east-1 at ${dead}: DescribeAvailabilityZones:`,
    );
    expect(line).not.toContain(MOTO_CREDENTIALS.secretAccessKey);
  });

  it('an unknown CONVERGE_CLOUD is a bad setting: exit 2', async () => {
    const run = await runConverge(['worker'], {
      env: { ...workerEnv(moto.url, true), CONVERGE_CLOUD: 'gce' },
      timeoutMs: 60_000,
    });
    expect(run.code).toBe(EXIT.usage);
    expect(oneLine(run.stderr)).toBe("converge worker: CONVERGE_CLOUD must be one of region, ec2, got 'gce'");
  });
});
