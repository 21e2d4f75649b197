// The quota peak: what the deployment holds at the worst moment of any schedule of the obligation.
import { describe, expect, it } from 'vitest';
import { cloudWith, deployed, group, manifestWith, plan } from './baseline';
import { quotaShortfall } from '../../../src/planner';

// Baseline holds api 3×small (2 cpus, 2048 MB) + worker 2×medium + db 1×medium (4 cpus, 4096 MB).
const HELD = { cpus: 3 * 2 + 3 * 4, memory_mb: 3 * 2048 + 3 * 4096, instances: 6 };

describe('quota peak', () => {
  it('of a fresh deploy is everything it creates', () => {
    const o = plan(
      { observed: { servers: [], allocations: [], volumes: [] }, records: [] },
      manifestWith(),
      cloudWith(),
    );
    expect(o.quotaPeak).toEqual(HELD);
  });

  it('of a converged deployment is what it holds', () => {
    expect(plan(deployed(), manifestWith(), cloudWith()).quotaPeak).toEqual(HELD);
  });

  it('of hot_swap replacements adds every new VM: all may exist before any old one is released', () => {
    const o = plan(
      deployed(),
      manifestWith((x) => (group(x, 'api').stemcell = 'next')),
      cloudWith(),
    );
    expect(o.quotaPeak).toEqual({ cpus: HELD.cpus + 6, memory_mb: HELD.memory_mb + 3 * 2048, instances: 9 });
  });

  it('of delete_create replacements adds only what grows (release comes before create)', () => {
    const m = manifestWith((x) =>
      Object.assign(group(x, 'api'), { vm_type: 'medium', update: { vm_strategy: 'delete_create' } }),
    );
    const o = plan(deployed(), m, cloudWith());
    // Each api VM goes from 2 to 4 cpus: +2 per instance at worst; instances never exceed what is held.
    expect(o.quotaPeak).toEqual({ cpus: HELD.cpus + 6, memory_mb: HELD.memory_mb + 3 * 2048, instances: 6 });
  });

  it('of delete_create that shrinks is what is held now', () => {
    const m = manifestWith((x) =>
      Object.assign(group(x, 'worker'), { vm_type: 'small', update: { vm_strategy: 'delete_create' } }),
    );
    expect(plan(deployed(), m, cloudWith()).quotaPeak).toEqual(HELD);
  });

  it('of a scale down is what is held now (deletions only ever give back)', () => {
    expect(
      plan(
        deployed(),
        manifestWith((x) => (group(x, 'api').instances = 1)),
        cloudWith(),
      ).quotaPeak,
    ).toEqual(HELD);
  });
});

describe('quotaShortfall', () => {
  const status = (usage: number, limit: number) => ({
    name: 'dev',
    limits: { cpus: 1000, memory_mb: 1_000_000, instances: limit },
    usage: { cpus: 0, memory_mb: 0, instances: usage },
  });
  const mine = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `a-${i}`,
      pool: 'dev',
      key: `k-${i}`,
      cpus: 0,
      memory_mb: 0,
      instances: 1,
      tags: {},
    }));
  const peak = (instances: number) => ({ cpus: 0, memory_mb: 0, instances });

  it('the worked example: usage 150 of which 40 ours, peak 100, limit 200 → short by 10', () => {
    expect(
      quotaShortfall({
        deployment: 'web',
        pool: 'dev',
        status: status(150, 200),
        mine: mine(40),
        peak: peak(100),
      }),
    ).toBe(
      "quota exceeded in resource pool 'dev' for deployment web: instances: needs 210 at peak, limit 200 (short by 10)",
    );
  });

  it('fits exactly at the limit (the fencepost): no shortfall', () => {
    expect(
      quotaShortfall({
        deployment: 'web',
        pool: 'dev',
        status: status(150, 200),
        mine: mine(50),
        peak: peak(100),
      }),
    ).toBeNull();
  });
});
