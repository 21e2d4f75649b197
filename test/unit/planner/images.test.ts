// Stemcells the cloud has no image for (images.ts): a plan whose new VMs boot one is refused, naming
// the stemcell, the VMs and what the cloud has; a plan that creates nothing, or only what the cloud
// has, is not.
import { describe, expect, it } from 'vitest';
import { missingImages, stemcellImagesOf } from '../../../src/planner/images';
import { cloudWith, deployed, manifestWith, plan } from './baseline';

const cc = cloudWith();
const empty = { observed: { servers: [], allocations: [], volumes: [] }, records: [] };

/** The baseline manifest on stemcell `version` (alias default). */
const on = (version: string, instances?: number) =>
  manifestWith((m) => {
    m.stemcells = [{ alias: 'default', os: 'ubuntu-jammy', version }];
    if (instances !== undefined) for (const g of m.instance_groups) g.instances = instances;
  });

const jammy = (version: string) => ({ os: 'ubuntu-jammy', version });

describe('missingImages', () => {
  it('the cloud has the stemcell: nothing', () => {
    const m = on('1.181');
    expect(missingImages(m, plan(empty, m, cc).steps, [jammy('1.181')])).toEqual([]);
  });

  it.each([
    [
      'the cloud has another version',
      [jammy('1.181'), jammy('1.180')],
      'ubuntu-jammy/1.181, ubuntu-jammy/1.180',
    ],
    ['the cloud has no image at all', [], 'none'],
  ])('%s: refused, naming the stemcell, its VMs and what the cloud has', (_what, images, theirs) => {
    const m = on('1.999', 1);
    const o = plan(empty, m, cc);
    const claims = o.steps.flatMap((s) => (s.kind === 'create-vm' ? [s.claim] : []));
    expect(claims.length).toBeGreaterThan(0);
    expect(missingImages(m, o.steps, images)).toEqual([
      {
        stemcell: jammy('1.999'),
        alias: 'default',
        claims,
        message:
          `stemcell default (ubuntu-jammy/1.999) has no image in the cloud, so the new VMs of ` +
          `${claims.join(', ')} cannot be created; the cloud has ${theirs}. Upload the stemcell first, ` +
          'or deploy one the cloud has',
      },
    ]);
  });

  it('many VMs: five are named, then how many more', () => {
    const m = on('1.999', 4);
    const o = plan(empty, m, cc);
    const claims = o.steps.flatMap((s) => (s.kind === 'create-vm' ? [s.claim] : []));
    expect(claims.length).toBeGreaterThan(5);
    const [found] = missingImages(m, o.steps, []);
    // As people count (group, then index as a number), not in step order (step ids hold uuids).
    const key = (c: string): [string, number] => [c.split('/')[0] ?? '', Number(c.split('/')[1])];
    const counted = [...claims].sort((a, b) => {
      const [ga, ia] = key(a);
      const [gb, ib] = key(b);
      return ga === gb ? ia - ib : ga < gb ? -1 : 1;
    });
    expect(found?.claims).toEqual(counted);
    expect(found?.message).toContain(`${counted.slice(0, 5).join(', ')} and ${claims.length - 5} more cannot`);
  });

  it('a redeploy that creates no VM needs no image: nothing, even when the cloud has lost it', () => {
    const m = on('1.181');
    const world = deployed(m, cc);
    const again = plan(world, m, cc, { operationSeq: 2 });
    expect(again.steps).toEqual([]);
    expect(missingImages(m, again.steps, [])).toEqual([]);
  });

  it('a stemcell update to a version the cloud lacks: refused for the replacements', () => {
    const world = deployed(on('1.181'), cc);
    const m = on('1.182');
    const o = plan(world, m, cc, { operationSeq: 2 });
    const found = missingImages(m, o.steps, [jammy('1.181')]);
    expect(found.map((f) => f.stemcell)).toEqual([jammy('1.182')]);
    expect(found[0]?.message).toContain('the cloud has ubuntu-jammy/1.181.');
  });
});

describe('stemcellImagesOf', () => {
  it('each os and version once, in manifest order', () => {
    const m = manifestWith((x) => {
      x.stemcells = [
        { alias: 'default', os: 'ubuntu-jammy', version: '1.181' },
        { alias: 'old', os: 'ubuntu-focal', version: '1.5' },
        { alias: 'again', os: 'ubuntu-jammy', version: '1.181' },
      ];
    });
    expect(stemcellImagesOf(m)).toEqual([jammy('1.181'), { os: 'ubuntu-focal', version: '1.5' }]);
  });
});
