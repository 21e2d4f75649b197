// `converge dev up --cloud ec2` as a user runs it: real detached processes (Temporal, moto, the
// region, an EC2 worker) on free ports in a temporary directory; the example manifest deploys on
// moto with the cloud config the stack wrote, and `dev down` stops every process, moto included.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/processes';
import { DEV_EC2 } from '../../src/dev/dev-ec2';
import { runConverge } from '../support/cli';
import { devStackEnv } from '../support/dev-stack';
import { ec2Client, SKIP_MOTO } from '../support/moto';

const dir = mkdtempSync(join(tmpdir(), 'converge-dev-ec2-test-'));
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  ({ env } = await devStackEnv(dir, { CONVERGE_MOTO_PORT: String(await freePort()) }));
});

afterAll(async () => {
  await converge(['dev', 'down']);
  rmSync(dir, { recursive: true, force: true });
});

async function converge(args: string[]): Promise<{ code: number; output: string }> {
  const run = await runConverge(args, { env, timeoutMs: 170_000 });
  return { code: run.code ?? 1, output: `${run.stdout}${run.stderr}` };
}

describe.skipIf(SKIP_MOTO)('converge dev up --cloud ec2', () => {
  it('runs the stack on moto, deploys the example there, and stops moto with the rest', async () => {
    const up = await converge(['dev', 'up', '--cloud', 'ec2']);
    expect(up.code, up.output).toBe(0);
    for (const name of ['codec', 'temporal', 'moto', 'region', 'worker'])
      expect(up.output).toMatch(new RegExp(`${name}: healthy`));
    expect(up.output).not.toContain('NodeVersionSupportWarning');
    const cc = join(dir, 'cloud-config-ec2.yml');
    expect(readFileSync(cc, 'utf8')).not.toContain('subnet-0a1b2c3d'); // the seeded id, not the placeholder
    expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toMatch(/cloud: EC2 us-east-1 at http/);

    const deploy = await converge(['deploy', 'examples/manifest.yml', '-c', cc, '--cloud', 'ec2', '--yes']);
    expect(deploy.code, deploy.output).toBe(0);
    expect(deploy.output).toContain('CONVERGED');

    // The instances are EC2's (moto's), tagged for the deployment: the worker computed there.
    const client = ec2Client(`http://127.0.0.1:${env.CONVERGE_MOTO_PORT}`);
    const out = await client.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:converge.deployment', Values: ['web'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    client.destroy();
    expect((out.Reservations ?? []).flatMap((r) => r.Instances ?? [])).toHaveLength(6);

    // The worker's AWS secret key reaches no log of ours and no CLI output, a failing create included
    // (a stemcell with no AMI: the plan names it). The worker log is the one that reached EC2 above.
    const missingAmi = readFileSync('examples/manifest.yml', 'utf8').replace(
      'version: "1.181"',
      'version: "9.999"',
    );
    expect(missingAmi).toContain('9.999');
    writeFileSync(join(dir, 'missing-ami.yml'), missingAmi);
    const status = await converge(['status', '-d', 'web', '--json']);
    expect(status.code, status.output).toBe(0);
    const failing = await converge([
      'deploy',
      join(dir, 'missing-ami.yml'),
      '-c',
      cc,
      '--cloud',
      'ec2',
      '--yes',
    ]);
    expect(failing.code, failing.output).not.toBe(0);
    expect(failing.output).toMatch(/9\.999/);
    const outputs = [up.output, deploy.output, status.output, failing.output];
    const logs = ['worker.log', 'region.log', 'codec.log'].map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(logs[0]!.length).toBeGreaterThan(0);
    for (const text of [...outputs, ...logs]) expect(text).not.toContain(DEV_EC2.secretAccessKey);

    const again = await converge(['dev', 'up']);
    expect(again.code, again.output).toBe(0);
    expect(again.output.match(/already running/g)).toHaveLength(5);

    const pid = Number(readFileSync(join(dir, 'moto.pid'), 'utf8'));
    const down = await converge(['dev', 'down']);
    expect(down.code, down.output).toBe(0);
    expect(down.output).toContain(`moto: stopped pid ${pid}`);
  });
});
