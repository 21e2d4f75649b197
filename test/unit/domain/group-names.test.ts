// "_" in names: BOSH manifests name groups `diego_cell`, so group names take it; deployment names
// (also workflow ids) do not, and the error says where "_" is allowed.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors';
import { validateManifestObject } from '../../../src/domain/load';
import { patent } from '../../../src/planner/index';
import { baseManifest, cloudWith, group } from '../planner/baseline';

describe('names with "_"', () => {
  it('an instance group named diego_cell (and a migrated_from naming one) is accepted and planned', () => {
    const draft = baseManifest();
    group(draft, 'worker').name = 'diego_cell';
    group(draft, 'api').migrated_from = [{ name: 'old_api' }];
    const manifest = validateManifestObject(draft);
    const claims = patent(manifest, cloudWith(), [], { defaultStrategy: 'hot_swap' }).claims;
    expect(claims.filter((c) => c.group === 'diego_cell').map((c) => c.id)).toEqual([
      'diego_cell/0',
      'diego_cell/1',
    ]);
  });

  it('a deployment named my_web is refused, and the error says "_" is for group names', () => {
    const draft = { ...baseManifest(), name: 'my_web' };
    let error: unknown;
    try {
      validateManifestObject(draft);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems.map((p) => [p.path, p.message])).toEqual([
      ['name', expect.stringContaining('("_" is allowed in instance group names only)') as unknown as string],
    ]);
  });
});
