// `start` after a soft `stop` powers the VMs back on (src/workflows/operation.ts). Once, start only
// marked the instances started and reported converged with every VM still SHUTOFF. Power is in the
// obligation (src/planner/power.ts): the operation's plan lists the power steps with their reasons,
// and an instance action is one such step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import { POWER_REASON, reasonCode } from '../../src/planner';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { runConverge } from '../support/cli';
import { observeDeployment } from '../support/invariants';
import { temporalEnv } from '../support/temporal';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('start-powers-on');
});
afterAll(async () => {
  await h?.stop();
});

describe('start after a soft stop', () => {
  it('powers every stopped VM back on, keeping the same VMs', async () => {
    const m = smallManifest('poweron');
    await h.deploy(m, cc);
    const stopped = await h.wait(await h.deployments.stop('poweron', {}));
    expect(stopped.status, JSON.stringify(stopped.failure)).toBe('converged');
    const off = await observeDeployment(h.region.client, 'poweron');
    expect(off.servers.map((s) => s.power)).toEqual(off.servers.map(() => 'stopped'));

    const ticket = await h.deployments.start('poweron');
    const started = await h.wait(ticket);
    expect(started.status, JSON.stringify(started.failure)).toBe('converged');
    expect(started.records.every((r) => r.state === 'started')).toBe(true);
    const on = await observeDeployment(h.region.client, 'poweron');
    expect(on.servers.map((s) => s.id).sort()).toEqual(off.servers.map((s) => s.id).sort());
    expect(on.servers.map((s) => s.power)).toEqual(on.servers.map(() => 'running'));
    await h.expectInvariants(started, { manifest: m, cloudConfig: cc });
  });

  it('start of some instances powers on only those', async () => {
    const m = smallManifest('poweron-some');
    await h.deploy(m, cc);
    await h.wait(await h.deployments.stop('poweron-some', {}));
    const started = await h.wait(await h.deployments.start('poweron-some', ['api']));
    expect(started.status, JSON.stringify(started.failure)).toBe('converged');
    const servers = (await observeDeployment(h.region.client, 'poweron-some')).servers;
    expect(servers).toHaveLength(5);
    for (const s of servers) {
      const group = s.tags[TAG.group];
      expect(`${group}: ${s.power}`).toBe(group === 'api' ? 'api: running' : 'worker: stopped');
    }
  });
});

describe('power steps in the plan', () => {
  it('a soft stop and a start plan one power step per instance, with reasons and codes, and count them', async () => {
    const m = smallManifest('powerplan');
    const deployed = await h.deploy(m, cc);
    const ids = deployed.records.map((r) => `${r.group}/${r.id}`).sort();
    const servers = (await observeDeployment(h.region.client, 'powerplan')).servers;

    const stop = await h.deployments.stop('powerplan', {});
    const stopped = await h.wait(stop);
    expect(stopped.status, JSON.stringify(stopped.failure)).toBe('converged');
    const plan = await h.deployments.operationPlan(stop);
    expect(plan?.steps.map((s) => s.id).sort()).toEqual(ids.map((i) => `${i}:power-off`));
    for (const step of plan?.steps ?? []) {
      expect(step).toMatchObject({ kind: 'power-off', dependsOn: [], reasons: [POWER_REASON.stop] });
      expect(step.reasons.map(reasonCode)).toEqual(['power_off']);
    }
    expect(plan?.summary).toEqual({ create: 0, replace: 0, delete: 0, keep: ids.length });
    expect(plan?.instances.every((i) => i.reasons.join() === POWER_REASON.stop)).toBe(true);
    expect([stopped.stepsTotal, stopped.stepsDone, stopped.remaining]).toEqual([ids.length, ids.length, []]);
    const off = (await observeDeployment(h.region.client, 'powerplan')).servers;
    expect(off.map((s) => `${s.id} ${s.power}`).sort()).toEqual(servers.map((s) => `${s.id} stopped`).sort());

    const start = await h.deployments.start('powerplan');
    const started = await h.wait(start);
    expect(started.status, JSON.stringify(started.failure)).toBe('converged');
    const again = await h.deployments.operationPlan(start);
    expect(again?.steps.map((s) => `${s.id} ${s.reasons.map(reasonCode).join()}`).sort()).toEqual(
      ids.map((i) => `${i}:power-on power_on`),
    );
    expect(started.stepsDone).toBe(ids.length);
  });

  it('an instance action is one power step: reboot keeps the state, stop and start set it', async () => {
    const m = smallManifest('poweraction');
    const deployed = await h.deploy(m, cc);
    const api1 = deployed.records.find((r) => r.group === 'api' && r.index === 1);
    if (!api1) throw new Error('no api/1');
    const vmOf = async () =>
      (await observeDeployment(h.region.client, 'poweraction')).servers.find(
        (s) => s.tags[TAG.instance] === api1.id,
      );
    const before = await vmOf();

    const act = async (action: 'reboot' | 'stop' | 'start') => {
      const ticket = await h.deployments.instanceAction('poweraction', { instance: 'api/1', action });
      const result = await h.wait(ticket);
      expect(result.status, JSON.stringify(result.failure)).toBe('converged');
      const plan = await h.deployments.operationPlan(ticket);
      const kind = action === 'reboot' ? 'reboot' : action === 'stop' ? 'power-off' : 'power-on';
      expect(plan?.steps.map((s) => [s.id, s.reasons])).toEqual([
        [`api/${api1.id}:${kind}`, [`${action}: requested by instance-action api/1`]],
      ]);
      return result;
    };

    const rebooted = await act('reboot');
    expect(rebooted.records.find((r) => r.id === api1.id)?.state).toBe('started');
    expect(await vmOf()).toMatchObject({ id: before?.id, power: 'running' });

    const stopped = await act('stop');
    expect(stopped.records.find((r) => r.id === api1.id)?.state).toBe('stopped');
    expect(stopped.records.filter((r) => r.id !== api1.id).every((r) => r.state === 'started')).toBe(true);
    expect(await vmOf()).toMatchObject({ id: before?.id, power: 'stopped' });

    const started = await act('start');
    expect(started.records.every((r) => r.state === 'started')).toBe(true);
    expect(await vmOf()).toMatchObject({ id: before?.id, power: 'running' });
    await h.expectInvariants(started, { manifest: m, cloudConfig: cc });
  });
});

describe('a dry run of stop, start and recreate', () => {
  it('plans every step with its reason and changes nothing: no power, no VM, no record', async () => {
    const m = smallManifest('powerdry');
    const deployed = await h.deploy(m, cc);
    const ids = deployed.records.map((r) => `${r.group}/${r.id}`).sort();
    const vms = async () =>
      (await observeDeployment(h.region.client, 'powerdry')).servers.map((s) => `${s.id} ${s.power}`).sort();
    const running = await vms();
    const records = async () => (await h.deployments.status('powerdry')).instances.map((r) => r.state);

    const stop = await h.wait(await h.deployments.stop('powerdry', { dryRun: true }));
    expect(stop.status, JSON.stringify(stop.failure)).toBe('planned');
    expect(stop.plan?.steps.map((s) => `${s.id} ${s.reasons.map(reasonCode).join()}`).sort()).toEqual(
      ids.map((i) => `${i}:power-off power_off`),
    );
    expect(stop.stepsDone).toBe(0);
    expect(await vms()).toEqual(running);
    expect(await records()).toEqual(ids.map(() => 'started'));

    // Through the real CLI: the steps with their reasons, exit 0, and still nothing changed.
    const env = { ...process.env, CONVERGE_DEBUG: '', CONVERGE_DEPLOYMENT: '', ...temporalEnv(h.taskQueue) };
    const cli = await runConverge(['stop', '-d', 'powerdry', 'api', '--dry-run'], {
      env,
      timeoutMs: 120_000,
    });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('dry run: nothing changed): 3 power-off');
    expect(cli.stdout.match(/^power-off +api\/\S+ +stop: /gm)).toHaveLength(3);
    expect(cli.stdout).toMatch(/PLANNED, 0\/3 steps/);
    const json = await runConverge(['stop', '-d', 'powerdry', '--dry-run', '--json'], {
      env,
      timeoutMs: 120_000,
    });
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as { status: string; plan: { steps: { reason_codes: string[] }[] } };
    expect(view.status).toBe('planned');
    expect(view.plan.steps.map((s) => s.reason_codes.join())).toEqual(ids.map(() => 'power_off'));
    expect(await vms()).toEqual(running);

    // recreate plans new VMs for the started api instances only.
    const recreate = await h.wait(await h.deployments.recreate('powerdry', ['api'], { dryRun: true }));
    expect(recreate.status).toBe('planned');
    expect(
      recreate.plan?.instances.filter((i) => i.action === 'replace').map((i) => i.instance.split('/')[0]),
    ).toEqual(['api', 'api', 'api']);
    expect(await vms()).toEqual(running);

    await h.wait(await h.deployments.stop('powerdry', {}));
    const off = await vms();
    const start = await h.wait(await h.deployments.start('powerdry', undefined, { dryRun: true }));
    expect(start.status).toBe('planned');
    expect(start.plan?.steps.map((s) => s.kind)).toEqual(ids.map(() => 'power-on'));
    expect(await vms()).toEqual(off);
    expect(await records()).toEqual(ids.map(() => 'stopped'));
  });
});
