// `start` after a soft `stop` powers the VMs back on (src/workflows/operation.ts). Once, start only
// marked the instances started and reported converged with every VM still SHUTOFF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
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
