// `converge cck` on the real stack, through the real binary: problems made by hand in the region (a
// server and a volume tagged for the deployment that no instance owns, a disk detached from its VM,
// a VM deleted out of band) are reported (exit 1, kinds in --json), each resolution fixes its part
// as an ordinary operation, and afterwards the check is clean (exit 0) and DESIGN §9 holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import { EXIT } from '../../src/domain/exit-codes';
import type { Manifest } from '../../src/domain/manifest';
import { runConverge, type CliRun } from '../support/cli';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { temporalEnv } from '../support/temporal';
import { startHarness, type Harness } from './harness';
import { serverRequest } from '../region/helpers';

let h: Harness;
let env: NodeJS.ProcessEnv;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('cck');
  env = { ...process.env, CONVERGE_DEBUG: '', CONVERGE_DEPLOYMENT: '', ...temporalEnv(h.taskQueue) };
});
afterAll(async () => {
  await h?.stop();
});

const converge = (args: string[]): Promise<CliRun> => runConverge(args, { env, timeoutMs: 120_000 });

interface ReportedProblem {
  id: string;
  kind: string;
  instance: string | null;
  object: string;
  resolutions: string[];
}

/** `converge cck -d NAME --json`: the exit code and the problems it lists. */
async function report(name: string): Promise<{ code: number | null; problems: ReportedProblem[] }> {
  const run = await converge(['cck', '-d', name, '--json']);
  expect(run.stderr).toBe('');
  const parsed = JSON.parse(run.stdout) as { deployment: string; problems: ReportedProblem[] };
  expect(parsed.deployment).toBe(name);
  return { code: run.code, problems: parsed.problems };
}

async function resolve(name: string, resolution: string): Promise<{ status: string; resolved: string[] }> {
  const run = await converge(['cck', '-d', name, '--resolution', resolution, '--yes', '--json']);
  const out = JSON.parse(run.stdout) as { status: string; kind: string; resolved?: string[] };
  expect(run.code, run.stdout + run.stderr).toBe(EXIT.ok);
  expect(out.kind).toBe('cck');
  return { status: out.status, resolved: out.resolved ?? [] };
}

/** DESIGN §9 after everything since `since`, with the records the deployment holds now. */
async function expectSound(name: string, m: Manifest, since: number): Promise<void> {
  const now = await h.wait(await h.deployments.cck(name, {}));
  expect(now.status).toBe('planned');
  expect(now.problems).toEqual([]);
  await h.expectInvariants(now, { manifest: m, cloudConfig: cc }, since);
}

describe('converge cck', () => {
  it('reports an orphan server, an orphan volume and a detached disk made by hand (exit 1), fixes each with its resolution, then reports clean (exit 0)', async () => {
    const name = 'cck-orphan';
    const m = smallManifest(name);
    const deployed = await h.deploy(m, cc);
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');

    const clean = await converge(['cck', '-d', name]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(EXIT.ok);
    expect(clean.stdout).toContain(`cck ${name}: no problems`);

    const since = await h.seq();
    const orphan = await h.region.client.createServer(
      serverRequest({ name: 'by-hand', tags: { [TAG.deployment]: name }, idempotency_key: 'cck-by-hand' }),
    );
    // A volume tagged for the deployment whose instance never existed.
    const stray = await h.region.client.createVolume({
      pool: 'nfs-1',
      size_gb: 1,
      tags: { [TAG.deployment]: name, [TAG.instance]: 'no-such-instance' },
    });
    const disk = (await observeDeployment(h.region.client, name)).volumes.find((v) => v.server_id !== null);
    if (!disk) throw new Error('the deployment has no attached disk');
    const owner = disk.server_id;
    await h.region.client.detachVolume(disk.id);

    const found = await report(name);
    expect(found.code).toBe(EXIT.problems);
    expect(found.problems.map((p) => [p.kind, p.object]).sort()).toEqual(
      [
        ['orphan-server', orphan.id],
        ['orphan-volume', stray.id],
        ['unattached-disk', disk.id],
      ].sort(),
    );
    const human = await converge(['cck', '-d', name]);
    expect(human.code).toBe(EXIT.problems);
    expect(human.stdout).toContain(`cck ${name}: 3 problem(s)`);
    expect(human.stdout).toContain(`orphan-server:${orphan.id}`);

    // A resolution that fits nothing does nothing, and says so.
    const none = await converge(['cck', '-d', name, '--resolution', 'recreate-vm', '--yes']);
    expect(none.code).toBe(EXIT.ok);
    expect(none.stdout).toContain('recreate-vm fits none of 3 problem(s)');

    expect(await resolve(name, 'delete-orphan')).toEqual({
      status: 'converged',
      resolved: [`orphan-server:${orphan.id}`, `orphan-volume:${stray.id}`],
    });
    expect((await report(name)).problems.map((p) => p.kind)).toEqual(['unattached-disk']);
    expect(await resolve(name, 'reattach-disk')).toEqual({
      status: 'converged',
      resolved: [`unattached-disk:${disk.id}`],
    });

    const after = await report(name);
    expect(after).toEqual({ code: EXIT.ok, problems: [] });
    const seen = await observeDeployment(h.region.client, name);
    expect(seen.servers.map((s) => s.id)).not.toContain(orphan.id);
    expect(seen.volumes.map((v) => v.id)).not.toContain(stray.id);
    expect(seen.volumes.find((v) => v.id === disk.id)?.server_id).toBe(owner);
    // Status (and the event log, and each child's summary) say what every cck did.
    const cck = (await h.deployments.status(name)).recent.filter((r) => r.kind === 'cck');
    expect(cck.map((r) => [r.reason, r.status])).toEqual(
      expect.arrayContaining([
        ['report (a dry run)', 'planned'],
        ['resolution delete-orphan', 'converged'],
        ['resolution reattach-disk', 'converged'],
      ]),
    );
    await expectSound(name, m, since);
  });

  it('a VM deleted out of band is reported missing and recreate-vm gives the instance a new one', async () => {
    const name = 'cck-missing';
    const m = smallManifest(name);
    const deployed = await h.deploy(m, cc);
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');
    const api = deployed.records.find((r) => r.group === 'api');
    if (!api) throw new Error('no api instance');
    const servers = (await observeDeployment(h.region.client, name)).servers;
    const vm = servers.find((s) => s.tags[TAG.instance] === api.id);
    if (!vm) throw new Error(`no VM for ${api.id}`);

    const since = await h.seq();
    while ((await h.region.client.deleteServer(vm.id)) === 'deleting')
      await new Promise((r) => setTimeout(r, 50));

    // The deleted VM's quota allocation stays in the region, consumed by nothing: an orphan of its own.
    const vmAllocation = vm.tags[TAG.allocation];
    const found = await report(name);
    expect(found.code).toBe(EXIT.problems);
    expect(found.problems.map((p) => p.kind)).toEqual(['missing-vm', 'orphan-allocation']);
    expect(found.problems[0]).toMatchObject({
      id: `missing-vm:${api.id}`,
      instance: `api/${api.id}`,
      resolutions: ['recreate-vm', 'delete-vm-reference', 'ignore'],
    });
    expect(found.problems[1]?.object).toBe(vmAllocation);

    const recreated = await resolve(name, 'recreate-vm');
    expect(recreated).toEqual({ status: 'converged', resolved: [`missing-vm:${api.id}`] });
    const now = (await observeDeployment(h.region.client, name)).servers;
    const replacement = now.filter((s) => s.tags[TAG.instance] === api.id);
    expect(replacement).toHaveLength(1);
    expect(replacement[0]?.id).not.toBe(vm.id);
    expect(replacement[0]?.state).toBe('ACTIVE');
    // The other instances' VMs were left alone.
    expect(
      now
        .map((s) => s.id)
        .filter((id) => id !== replacement[0]?.id)
        .sort(),
    ).toEqual(
      servers
        .map((s) => s.id)
        .filter((id) => id !== vm.id)
        .sort(),
    );

    // recreate-vm gave the instance a new VM and allocation; the old allocation is the orphan's part.
    expect((await report(name)).problems.map((p) => p.id)).toEqual([`orphan-allocation:${vmAllocation}`]);
    expect(await resolve(name, 'delete-orphan')).toEqual({
      status: 'converged',
      resolved: [`orphan-allocation:${vmAllocation}`],
    });
    expect(await report(name)).toEqual({ code: EXIT.ok, problems: [] });
    await expectSound(name, m, since);
  });
});
