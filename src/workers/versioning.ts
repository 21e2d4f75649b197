// Worker Deployment Versioning: which build of the workflow code this worker is. Operations are pinned
// to the build they started on and the entity follows the current build (src/workflows), so the
// server, not patched(), keeps an operation on one code path. Off unless a deployment name is given.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { UserError } from '../domain/errors';
import { EXIT } from '../domain/exit-codes';
import type { Env } from '../temporal/connection';
import { packageVersion } from '../package-root';

export const VERSIONING_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['CONVERGE_WORKER_DEPLOYMENT', 'Temporal worker deployment name; set it to turn on Worker Versioning'],
  ['CONVERGE_BUILD_ID', 'this build (default: package version + workflow bundle hash)'],
];

export interface VersioningSettings {
  deploymentName: string;
  /** Null: derived from the package version and the workflow bundle (`buildIdOf`). */
  buildId: string | null;
}

/** The worker's versioning settings, or null when versioning is off (no deployment name). */
export function versioningFromEnv(env: Env): VersioningSettings | null {
  const deploymentName = env.CONVERGE_WORKER_DEPLOYMENT?.trim() ?? '';
  const buildId = env.CONVERGE_BUILD_ID?.trim() ?? '';
  if (deploymentName === '') {
    if (buildId !== '')
      throw new UserError(
        'CONVERGE_BUILD_ID needs CONVERGE_WORKER_DEPLOYMENT (the deployment it belongs to)',
        EXIT.usage,
      );
    return null;
  }
  // The server joins them as "<deployment>.<build>" in places, so neither may hold a dot.
  for (const [name, value] of [
    ['CONVERGE_WORKER_DEPLOYMENT', deploymentName],
    ['CONVERGE_BUILD_ID', buildId],
  ] as const) {
    if (value.includes('.')) throw new UserError(`${name}: '${value}' may not contain '.'`, EXIT.usage);
  }
  return { deploymentName, buildId: buildId === '' ? null : buildId };
}

/**
 * `<package version>-<12 hex of the bundle's sha256>`: a new build whenever the workflow code changes.
 * The inline source map is left out: it names the files by absolute path, so the same code built in
 * another checkout would otherwise be another build.
 */
export function buildIdOf(bundle: WorkflowBundleOption): string {
  const code = 'code' in bundle ? bundle.code : readFileSync(bundle.codePath, 'utf8');
  const hash = createHash('sha256').update(withoutSourceMap(code)).digest('hex').slice(0, 12);
  return `${packageVersion().replaceAll('.', '_')}-${hash}`;
}

export function deploymentVersion(
  settings: VersioningSettings,
  bundle: WorkflowBundleOption,
): WorkerDeploymentVersion {
  return { deploymentName: settings.deploymentName, buildId: settings.buildId ?? buildIdOf(bundle) };
}

const SOURCE_MAP_LINE = /\n\/\/# sourceMappingURL=[^\n]*\s*$/;

function withoutSourceMap(code: string): string {
  return code.replace(SOURCE_MAP_LINE, '\n');
}
