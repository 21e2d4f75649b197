// The quota peak: what the deployment holds at the worst moment of any schedule of the obligation.
import { describe, expect, it } from 'vitest';
import { cloudWith, deployed, group, manifestWith, plan } from './baseline';

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
