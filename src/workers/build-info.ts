// What `npm run build` (scripts/build.mjs) left in dist/: the compiled CLI and the prebuilt workflow
// bundle, described by dist/build-info.json. The worker loads that bundle instead of running webpack
// at each start; in a checkout whose sources changed since the build it is stale and not used.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../package-root';

export interface BuildInfo {
  /** package.json's version at build time. */
  version: string;
  /** sha256 of the sources the build read (see sourceHash). */
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

/**
 * sha256 over src/ (.ts, .mts, .json), package.json, package-lock.json and scripts/build.mjs: each
 * file's path, length and bytes, in path order. scripts/build.mjs computes the same hash; a unit test
 * holds the two together.
 */
export function sourceHash(root: string = packageRoot()): string {
  const files = [
    ...walk(join(root, 'src')),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
    join(root, 'scripts', 'build.mjs'),
  ]
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const content = readFileSync(join(root, file));
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex');
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (/\.(ts|mts|json)$/.test(entry.name)) yield path;
  }
}
