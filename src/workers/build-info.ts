// What `npm run build` (scripts/build.mjs) left in dist/: the compiled CLI and the prebuilt workflow
// bundle, described by dist/build-info.json. The worker loads that bundle instead of running webpack
// at each start; in a checkout whose sources changed since the build it is stale and not used.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceHash } from '../../scripts/source-hash.mjs';
import { packageRoot } from '../package-root';

export interface BuildInfo {
  /** package.json's version at build time. */
  version: string;
  /** sha256 of the sources the build read (scripts/source-hash.mjs). */
  sourceHash: string;
  workflowBundle: BundleFile;
  /** The same workflows with the OpenTelemetry workflow interceptors (tracing on). */
  tracedWorkflowBundle: BundleFile;
}

export interface BundleFile {
  /** Relative to dist/. */
  file: string;
  /** sha256 of the bundle's code: names this build of the workflow code. */
  sha256: string;
}

export interface PrebuiltWorkflowBundle {
  codePath: string;
  sha256: string;
}

export function readBuildInfo(root: string = packageRoot()): BuildInfo | null {
  try {
    return JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')) as BuildInfo;
  } catch {
    return null;
  }
}

export interface BundleChoice {
  /** The bundle with the OpenTelemetry workflow interceptors. */
  traced?: boolean;
}

const prebuilt = new Map<string, PrebuiltWorkflowBundle | null>();

/**
 * The workflow bundle built by `npm run build`, or null when there is none, its file does not match
 * its recorded sha256, or (in a checkout, where src/ exists) the sources changed since the build.
 * Checked once per process.
 */
export function prebuiltWorkflowBundle(
  root: string = packageRoot(),
  choice: BundleChoice = {},
): PrebuiltWorkflowBundle | null {
  const key = `${root}\0${choice.traced === true}`;
  if (!prebuilt.has(key)) prebuilt.set(key, findPrebuiltWorkflowBundle(root, choice));
  return prebuilt.get(key) ?? null;
}

/** As prebuiltWorkflowBundle, checked now (watch mode: the sources may have changed). */
export function findPrebuiltWorkflowBundle(
  root: string = packageRoot(),
  choice: BundleChoice = {},
): PrebuiltWorkflowBundle | null {
  const info = readBuildInfo(root);
  const bundle = choice.traced === true ? info?.tracedWorkflowBundle : info?.workflowBundle;
  if (bundle === undefined) return null;
  const codePath = join(root, 'dist', bundle.file);
  let code: Buffer;
  try {
    code = readFileSync(codePath);
  } catch {
    return null;
  }
  if (createHash('sha256').update(code).digest('hex') !== bundle.sha256) return null;
  if (existsSync(join(root, 'src')) && sourceHash(root) !== info?.sourceHash) return null;
  return { codePath, sha256: bundle.sha256 };
}
