// A worker restart empties the workflow cache: the next task replays the entity from its history.
// The update that arrives with that task must see the entity as it is (idle, with its records),
// not as it was before the operation's completion was replayed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('worker-restart');
});
afterAll(async () => {
  await h?.stop();
});

describe('worker restart', () => {
  it('accepts the next deploy right after a restart and plans from the recorded instances', async () => {
    const m = smallManifest('restarted');
    const first = await h.deploy(m, cc);
    expect(first.status).toBe('converged');
    await h.restartWorker();
    const bumped = smallManifest('restarted', (x) => {
      x.stemcells[0]!.version = '1.182';
    });
    const r = await h.deploy(bumped, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.summary.replace).toBe(5);
    expect(r.records.map((x) => x.id).sort()).toEqual(first.records.map((x) => x.id).sort());
    await h.restartWorker();
    const again = await h.deploy(bumped, cc);
    expect(again.stepsTotal).toBe(0);
    await h.expectInvariants(again, { manifest: bumped, cloudConfig: cc });
  });
});
