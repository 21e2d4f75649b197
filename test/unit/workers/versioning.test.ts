import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/domain/errors';
import { buildIdOf, deploymentVersion, versioningFromEnv } from '../../../src/workers/versioning';

describe('versioningFromEnv', () => {
  it('is off without a deployment name', () => {
    expect(versioningFromEnv({})).toBeNull();
    expect(versioningFromEnv({ CONVERGE_WORKER_DEPLOYMENT: ' ' })).toBeNull();
  });

  it('takes the name and an optional build id', () => {
    expect(versioningFromEnv({ CONVERGE_WORKER_DEPLOYMENT: 'converge' })).toEqual({
      deploymentName: 'converge',
      buildId: null,
    });
    expect(versioningFromEnv({ CONVERGE_WORKER_DEPLOYMENT: 'converge', CONVERGE_BUILD_ID: 'b7' })).toEqual({
      deploymentName: 'converge',
      buildId: 'b7',
    });
  });

  it('refuses a build id without a deployment, and dots, naming the variable', () => {
    expect(() => versioningFromEnv({ CONVERGE_BUILD_ID: 'b7' })).toThrow(UserError);
    expect(() => versioningFromEnv({ CONVERGE_BUILD_ID: 'b7' })).toThrow(/CONVERGE_WORKER_DEPLOYMENT/);
    expect(() => versioningFromEnv({ CONVERGE_WORKER_DEPLOYMENT: 'a.b' })).toThrow(
      /CONVERGE_WORKER_DEPLOYMENT: 'a.b' may not contain '.'/,
    );
  });
});

describe('the default build id', () => {
  it('changes with the workflow code and is the same for the same code, in memory or on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'converge-build-id-'));
    const path = join(dir, 'bundle.js');
    writeFileSync(path, 'code one');
    const fromFile = buildIdOf({ codePath: path });
    expect(buildIdOf({ code: 'code one' })).toBe(fromFile);
    expect(buildIdOf({ code: 'code two' })).not.toBe(fromFile);
    expect(fromFile).toMatch(/^[0-9_]+-[0-9a-f]{12}$/);
    expect(fromFile).not.toContain('.');
  });

  it('leaves out the inline source map, which names files by absolute path', () => {
    const map = (path: string) =>
      `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(path).toString('base64')}`;
    const here = buildIdOf({ code: `code one${map('/work/a/node_modules/x.ts')}` });
    expect(buildIdOf({ code: `code one${map('/srv/b/node_modules/x.ts')}` })).toBe(here);
    expect(buildIdOf({ code: `code two${map('/work/a/node_modules/x.ts')}` })).not.toBe(here);
  });

  it('is used only when no build id is given', () => {
    const settings = { deploymentName: 'converge', buildId: null };
    expect(deploymentVersion(settings, { code: 'x' }).buildId).toBe(buildIdOf({ code: 'x' }));
    expect(deploymentVersion({ ...settings, buildId: 'b7' }, { code: 'x' })).toEqual({
      deploymentName: 'converge',
      buildId: 'b7',
    });
  });
});
