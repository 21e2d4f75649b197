// The CLI against a live deployment, through the real binary: `plan -d` shows "keep" for what is
// deployed, `deployments` lists it, and destructive commands ask on a terminal (a pseudo-terminal
// from script(1)) and refuse without one. The deployment's group is `diego_cell`: "_" in a group
// name goes through a real deploy, plan and delete. Runs in the integration project (Temporal server).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT } from '../../src/domain/exit-codes';
import { startHarness, type Harness } from '../integration/harness';
import { runConverge, type CliRun } from '../support/cli';
import { temporalEnv } from '../support/temporal';

const CONVERGE = fileURLToPath(new URL('../../bin/converge.mjs', import.meta.url));
const CLOUD = 'examples/cloud-config.yml';
const NAME = `cli-live-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'converge-cli-live-'));

function manifest(version: string): string {
  const path = join(dir, `manifest-${version}.yml`);
  writeFileSync(
    path,
    stringify({
      name: NAME,
      resource_pool: 'dev',
      stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version }],
      update: { canaries: 1, max_in_flight: 2, vm_strategy: 'hot_swap' },
      instance_groups: [
        {
          name: 'diego_cell',
          instances: 2,
          azs: ['z1', 'z2'],
          vm_type: 'small',
          stemcell: 'default',
          networks: [{ name: 'default' }],
        },
      ],
    }),
  );
  return path;
}

let h: Harness;
let env: NodeJS.ProcessEnv;
const v1 = manifest('1.181');
const v2 = manifest('1.182');

beforeAll(async () => {
  // Builds slow enough that `status --follow` after `deploy --detach` finds the operation running.
  h = await startHarness('cli-live', { buildMs: 3000 });
  env = { ...process.env, CONVERGE_DEBUG: '', CONVERGE_DEPLOYMENT: '', ...temporalEnv(h.taskQueue) };
});

afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

const converge = (args: string[]): Promise<CliRun> => runConverge(args, { env, timeoutMs: 120_000 });

/** The CLI on a pseudo-terminal (script(1)), typing `answer` at its prompt. */
function onTerminal(args: string[], answer: string): Promise<CliRun> {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, CONVERGE, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: '' });
    });
    child.stdin.end(`${answer}\n`);
  });
}

const vms = async (): Promise<string[]> =>
  (await h.deployments.status(NAME)).instances.map((r) => r.vm ?? '-').sort();

describe('converge against a live deployment', () => {
  it('deploys a group named diego_cell; plan -d shows every instance as keep; deployments lists it', async () => {
    const deploy = await converge(['deploy', v1, '-c', CLOUD]);
    expect(deploy.code, deploy.stderr + deploy.stdout).toBe(EXIT.ok);
    expect(deploy.stdout).toContain('CONVERGED');
    expect(deploy.stdout).toMatch(/\+ create +diego_cell\/0 +diego_cell\//);

    const plan = await converge(['plan', '-d', NAME, v1, '-c', CLOUD, '--detailed-exitcode']);
    expect(plan.code, plan.stderr + plan.stdout).toBe(EXIT.ok);
    expect(plan.stdout).toContain('against the live deployment');
    expect(plan.stdout).toContain('converged: 2 instances up to date');
    expect(plan.stdout.match(/^ {2}= keep +diego_cell\/\d/gm)).toHaveLength(2);

    const changes = await converge(['-d', NAME, 'plan', v2, '-c', CLOUD, '--detailed-exitcode']);
    expect(changes.code, changes.stderr + changes.stdout).toBe(EXIT.changes);
    expect(changes.stdout.match(/~ replace \(hot_swap\) +diego_cell\/\d/g)).toHaveLength(2);
    expect(changes.stdout).toMatch(/@ z1, small, \d+\.\d+\.\d+\.\d+ \(current\)/);

    const status = await converge(['status', '-d', NAME, '--json']);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    const keys = new Set<string>();
    const parsed = JSON.parse(status.stdout, (k: string, v: unknown) => (keys.add(k), v)) as {
      manifest_digest: string | null;
    };
    expect(parsed.manifest_digest).not.toBeNull();
    expect([...keys].filter((k) => /[A-Z]/.test(k))).toEqual([]);

    const list = await converge(['deployments']);
    expect(list.code, list.stderr).toBe(EXIT.ok);
    expect(list.stdout).toMatch(new RegExp(`^${NAME} +idle +2 +op-\\d+ deploy planned`, 'm'));
  });

  it('a destructive deploy without a terminal shows the plan and refuses (exit 5); nothing changes', async () => {
    const before = await vms();
    const run = await converge(['deploy', v2, '-c', CLOUD]);
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.notConfirmed);
    expect(run.stdout).toContain('~ replace (hot_swap)');
    expect(run.stderr).toContain(`deploy ${NAME}: refusing without a terminal to confirm on; pass --yes`);
    expect(await vms()).toEqual(before);
  });

  it('deploy --yes --detach returns at once; status --follow re-attaches and ends with the result', async () => {
    const started = await converge(['deploy', v2, '-c', CLOUD, '--yes', '--detach']);
    expect(started.code, started.stderr + started.stdout).toBe(EXIT.ok);
    expect(started.stdout).not.toContain('CONVERGED');
    const followed = await converge(['status', '-d', NAME, '--follow']);
    expect(followed.code, followed.stderr + followed.stdout).toBe(EXIT.ok);
    expect(followed.stdout).toMatch(new RegExp(`deploy ${NAME} \\(op-\\d+\\): CONVERGED`));
    const again = await converge(['status', '-d', NAME, '--follow']);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toContain('No operation is running.');
  });

  it('on a terminal, deploy and delete ask; "n" changes nothing (exit 5), "y" deletes', async () => {
    const before = await vms();
    const deploy = await onTerminal(['deploy', v2, '-c', CLOUD, '--recreate'], 'n');
    expect(deploy.stdout).toContain('Continue? [yN]');
    expect(deploy.stdout).toContain('not confirmed: nothing was changed');
    expect(deploy.code, deploy.stdout).toBe(EXIT.notConfirmed);

    const refused = await onTerminal(['delete', '-d', NAME], 'n');
    expect(refused.stdout).toContain(
      `delete ${NAME}: 2 instance(s), their VMs and persistent disks are deleted`,
    );
    expect(refused.code, refused.stdout).toBe(EXIT.notConfirmed);
    expect(await vms()).toEqual(before);

    const deleted = await onTerminal(['delete', '-d', NAME], 'y');
    expect(deleted.code, deleted.stdout).toBe(EXIT.ok);
    expect(deleted.stdout).toContain(`delete ${NAME} (op-`);
    expect(deleted.stdout).toContain('CONVERGED');
    expect((await h.region.client.listServers({ 'converge.deployment': NAME })).length).toBe(0);
  });
});
