// `converge cck` on the real stack, through the real binary: problems made by hand in the region (a
// server and a volume tagged for the deployment that no instance owns, a disk detached from its VM,
// a VM deleted out of band, a VM the region built into ERROR, a second server for one instance) are
// reported (exit 1, kinds in --json), each resolution fixes its part as an ordinary operation, and
// afterwards the check is clean (exit 0) and DESIGN §9 holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG, type Server, type Tags } from '../../src/domain/cloud';
import { EXIT } from '../../src/domain/exit-codes';
import type { Manifest } from '../../src/domain/manifest';
import { runConverge, type CliRun } from '../support/cli';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { temporalEnv } from '../support/temporal';
import { startHarness, type Harness } from './harness';
import { serverRequest, sleep } from '../region/helpers';

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

/** Deletes a VM out of band and waits until the region has forgotten it. */
async function deleteOutOfBand(id: string): Promise<void> {
  while ((await h.region.client.deleteServer(id)) === 'deleting') await sleep(50);
}

/**
 * A server made by hand with `tags` that the region builds into ERROR: its fate is fixed when it is
 * created, so the fault is on for that one create only.
 */
async function erroredServer(tags: Tags, key: string): Promise<Server> {
  await h.region.client.setFaults({ error_build_rate: 1 });
  let made: Server;
  try {
    made = await h.region.client.createServer(serverRequest({ name: 'by-hand', tags, idempotency_key: key }));
  } finally {
    await h.region.client.setFaults({ error_build_rate: 0 });
  }
  for (;;) {
    const now = await h.region.client.getServer(made.id);
    if (now.state === 'ERROR') return now;
    expect(now.state).toBe('BUILD');
    await sleep(20);
  }
}

/** The VM the deployment's instance `id` has now (exactly one). */
async function vmOf(name: string, id: string): Promise<Server> {
  const vms = (await observeDeployment(h.region.client, name)).servers.filter(
    (s) => s.tags[TAG.instance] === id,
  );
  expect(vms, `VMs of ${id}`).toHaveLength(1);
  const [vm] = vms;
  if (!vm) throw new Error(`no VM for ${id}`);
  return vm;
}

/** An instance of `group` (of a converged deploy) by index. */
function instanceOf(
  result: { records: { id: string; group: string; index: number }[] },
  group: string,
  index = 0,
) {
  const r = result.records.find((x) => x.group === group && x.index === index);
  if (!r) throw new Error(`no instance ${group}/${index}`);
  return r;
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

  it('a VM in ERROR is reported vm-error, and recreate-vm gives the instance an ACTIVE VM with its disk', async () => {
    const name = 'cck-error';
    const m = smallManifest(name);
    const deployed = await h.deploy(m, cc);
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');
    const worker = instanceOf(deployed, 'worker');
    const vm = await vmOf(name, worker.id);
    const disk = (await observeDeployment(h.region.client, name)).volumes.find(
      (v) => v.tags[TAG.instance] === worker.id,
    );
    expect(disk?.server_id).toBe(vm.id);

    // The VM is replaced out of band by one the region builds into ERROR, carrying the instance's tags
    // (and the old VM's allocation, so nothing else is amiss).
    const since = await h.seq();
    await deleteOutOfBand(vm.id);
    const broken = await erroredServer({ ...vm.tags, [TAG.operation]: 'by-hand' }, 'cck-error-vm');

    const found = await report(name);
    expect(found.code).toBe(EXIT.problems);
    expect(found.problems).toEqual([
      expect.objectContaining({
        id: `vm-error:${broken.id}`,
        kind: 'vm-error',
        instance: `worker/${worker.id}`,
        object: broken.id,
        resolutions: ['recreate-vm', 'delete-vm-reference', 'ignore'],
      }),
    ]);
    const human = await converge(['cck', '-d', name]);
    expect(human.code).toBe(EXIT.problems);
    expect(human.stdout).toContain(`vm-error:${broken.id}`);

    expect(await resolve(name, 'recreate-vm')).toEqual({
      status: 'converged',
      resolved: [`vm-error:${broken.id}`],
    });
    const replacement = await vmOf(name, worker.id);
    expect(replacement.id).not.toBe(broken.id);
    expect(replacement.state).toBe('ACTIVE');
    const seen = await observeDeployment(h.region.client, name);
    expect(seen.servers.map((s) => s.id)).not.toContain(broken.id);
    // The ERROR VM's allocation went with it (two-stage), and the disk moved to the new VM.
    expect(seen.allocations.map((a) => a.id)).not.toContain(broken.tags[TAG.allocation]);
    expect(seen.volumes.find((v) => v.id === disk?.id)?.server_id).toBe(replacement.id);

    expect(await report(name)).toEqual({ code: EXIT.ok, problems: [] });
    await expectSound(name, m, since);
  });

  it('two servers for one instance: the one without the disk is reported duplicate-server, and delete-orphan removes it and its quota', async () => {
    const name = 'cck-duplicate';
    const m = smallManifest(name);
    const deployed = await h.deploy(m, cc);
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');
    const worker = instanceOf(deployed, 'worker');
    const vm = await vmOf(name, worker.id);
    const allocation = (await observeDeployment(h.region.client, name)).allocations.find(
      (a) => a.id === vm.tags[TAG.allocation],
    );
    if (!allocation) throw new Error(`no allocation for ${vm.id}`);

    // A second server for the same instance, as a create outside any operation of ours would leave
    // it: the instance's tags, its own quota allocation.
    const since = await h.seq();
    const byHand = {
      [TAG.deployment]: name,
      [TAG.claim]: vm.tags[TAG.claim] ?? '',
      [TAG.operation]: 'by-hand',
    };
    const quota = await h.region.client.createAllocation({
      pool: allocation.pool,
      key: 'cck-duplicate-allocation',
      cpus: allocation.cpus,
      memory_mb: allocation.memory_mb,
      instances: allocation.instances,
      tags: byHand,
    });
    const twin = await h.region.client.createServer(
      serverRequest({
        name: 'by-hand',
        tags: { ...vm.tags, ...byHand, [TAG.allocation]: quota.id },
        idempotency_key: 'cck-duplicate-vm',
      }),
    );
    while ((await h.region.client.getServer(twin.id)).state !== 'ACTIVE') await sleep(20);

    const found = await report(name);
    expect(found.code).toBe(EXIT.problems);
    expect(found.problems).toEqual([
      expect.objectContaining({
        id: `duplicate-server:${twin.id}`,
        kind: 'duplicate-server',
        instance: `worker/${worker.id}`,
        object: twin.id,
        resolutions: ['delete-orphan', 'ignore'],
      }),
    ]);

    expect(await resolve(name, 'delete-orphan')).toEqual({
      status: 'converged',
      resolved: [`duplicate-server:${twin.id}`],
    });
    const seen = await observeDeployment(h.region.client, name);
    expect(seen.servers.map((s) => s.id)).not.toContain(twin.id);
    expect(seen.allocations.map((a) => a.id)).not.toContain(quota.id);
    // The instance kept its own VM, untouched.
    expect((await vmOf(name, worker.id)).id).toBe(vm.id);

    expect(await report(name)).toEqual({ code: EXIT.ok, problems: [] });
    await expectSound(name, m, since);
  });

  it('delete-vm-reference forgets a missing VM and an ERROR VM (deleted two-stage): the instances are detached, keep their disks, and `converge start` gives them VMs again', async () => {
    const name = 'cck-forget';
    const m = smallManifest(name);
    const deployed = await h.deploy(m, cc);
    expect(deployed.status, JSON.stringify(deployed.failure)).toBe('converged');
    const worker = instanceOf(deployed, 'worker');
    const api = instanceOf(deployed, 'api');
    const workerVm = await vmOf(name, worker.id);
    const apiVm = await vmOf(name, api.id);
    const disk = (await observeDeployment(h.region.client, name)).volumes.find(
      (v) => v.tags[TAG.instance] === worker.id,
    );
    if (!disk) throw new Error(`no disk for ${worker.id}`);

    const since = await h.seq();
    await deleteOutOfBand(workerVm.id);
    await deleteOutOfBand(apiVm.id);
    const broken = await erroredServer({ ...apiVm.tags, [TAG.operation]: 'by-hand' }, 'cck-forget-vm');

    // The missing VM's allocation stays behind, consumed by nothing: an orphan of its own.
    const stray = workerVm.tags[TAG.allocation];
    const found = await report(name);
    expect(found.code).toBe(EXIT.problems);
    expect(found.problems.map((p) => p.id).sort()).toEqual(
      [`missing-vm:${worker.id}`, `vm-error:${broken.id}`, `orphan-allocation:${stray}`].sort(),
    );

    const forgot = await resolve(name, 'delete-vm-reference');
    expect(forgot.status).toBe('converged');
    expect(forgot.resolved.sort()).toEqual([`missing-vm:${worker.id}`, `vm-error:${broken.id}`].sort());
    const states = new Map((await h.deployments.status(name)).instances.map((i) => [i.instance, i.state]));
    expect([states.get(`worker/${worker.id}`), states.get(`api/${api.id}`)]).toEqual([
      'detached',
      'detached',
    ]);
    const seen = await observeDeployment(h.region.client, name);
    expect(seen.servers.filter((s) => [worker.id, api.id].includes(s.tags[TAG.instance] ?? ''))).toEqual([]);
    expect(seen.allocations.map((a) => a.id)).not.toContain(broken.tags[TAG.allocation]);
    expect(seen.volumes.find((v) => v.id === disk.id)).toMatchObject({ server_id: null });

    // A detached instance without a VM is not a problem; the stray allocation still is.
    expect((await report(name)).problems.map((p) => p.id)).toEqual([`orphan-allocation:${stray}`]);
    expect(await resolve(name, 'delete-orphan')).toEqual({
      status: 'converged',
      resolved: [`orphan-allocation:${stray}`],
    });
    expect(await report(name)).toEqual({ code: EXIT.ok, problems: [] });
    await expectSound(name, m, since);

    const started = await converge(['start', '-d', name, `worker/${worker.id}`, `api/${api.id}`, '--json']);
    expect(started.code, started.stdout + started.stderr).toBe(EXIT.ok);
    expect((await vmOf(name, api.id)).state).toBe('ACTIVE');
    const back = await vmOf(name, worker.id);
    expect(back.state).toBe('ACTIVE');
    expect(
      (await observeDeployment(h.region.client, name)).volumes.find((v) => v.id === disk.id)?.server_id,
    ).toBe(back.id);
    expect(await report(name)).toEqual({ code: EXIT.ok, problems: [] });
    await expectSound(name, m, since);
  });
});
