#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ (esbuild, ES modules, source maps) and prebuilds the
// workflow bundle (webpack, through the Temporal SDK) so neither the CLI nor the worker pays a
// TypeScript or bundling step at start-up.
//   --if-stale  do nothing when dist/build-info.json was built from the current sources
//   --print-source-hash  print the hash of the sources (scripts/source-hash.mjs) and exit
// Plain JavaScript on purpose: it runs before anything is compiled, and setup.sh calls it on every
// `npm test` / `npm run demo`, so the up-to-date check must cost milliseconds.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceHash } from './source-hash.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const INFO = join(DIST, 'build-info.json');

/** Entry points: what bin/converge.mjs runs (src/main.ts), and the public client API (export "./client"). */
const ENTRIES = { cli: 'src/main.ts', client: 'src/client/api.ts' };

/**
 * What the standalone CLI still loads from node_modules: native modules, the worker side of the SDK
 * (never run by a short-lived command), and what only tracing or the EC2 cloud needs.
 */
const STANDALONE_EXTERNAL = [
  '@temporalio/worker',
  '@temporalio/core-bridge',
  '@temporalio/activity',
  '@temporalio/testing',
  '@temporalio/interceptors-opentelemetry',
  '@opentelemetry/*',
  '@aws-sdk/*',
  'better-sqlite3',
  'esbuild',
  'typescript',
];

/** The SDK's OpenTelemetry workflow interceptors, then Converge's (as in src/workers/bundle.ts). */
const tracingInterceptors = () => [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  join(ROOT, 'src', 'workflows', 'tracing-interceptors.ts'),
];

function* walkAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkAll(path);
    else yield path;
  }
}

function readInfo() {
  try {
    return JSON.parse(readFileSync(INFO, 'utf8'));
  } catch {
    return null;
  }
}

async function build(hash) {
  const started = Date.now();
  const esbuild = await import('esbuild');
  const staging = join(ROOT, `.dist-staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });

  // One bundle per entry, split so the commands that load lazily (worker, dev stack, region) stay out
  // of `converge --help`. node_modules stay external: the SDK's native core cannot be bundled.
  await esbuild.build({
    entryPoints: ENTRIES,
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: true,
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });

  // The CLI once more, for the short-lived commands (deploy, status, plan, ...), with its dependencies
  // inside: resolving and loading the SDK's few hundred CommonJS files from node_modules was half of
  // `converge status`'s start-up. The long-running processes (worker, region, codec server) keep the
  // build above: the worker's native core and its activity context must be node_modules' one copy.
  await esbuild.build({
    entryPoints: { cli: 'src/main.ts' },
    outdir: join(staging, 'standalone'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: STANDALONE_EXTERNAL,
    // Bundled CommonJS calls require() for Node's built-ins; an ES module has none of its own.
    banner: {
      js: "import { createRequire as __convergeCreateRequire } from 'node:module'; const require = __convergeCreateRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    sourcesContent: true,
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });

  // Type declarations of the client API (tsconfig.build.json). tsc keeps the sources' extensionless
  // relative imports, which Node's ESM resolution (and TypeScript's node16 mode) refuses: add `.js`.
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(staging, 'types'),
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  for (const file of walkAll(join(staging, 'types'))) {
    const text = readFileSync(file, 'utf8').replace(
      /(from |import\()'(\.{1,2}\/[^']+)'/g,
      (_, lead, spec) => {
        const target = join(dirname(file), spec);
        const js = existsSync(`${target}.d.ts`)
          ? `${spec}.js`
          : existsSync(join(target, 'index.d.ts'))
            ? `${spec}/index.js`
            : spec;
        return `${lead}'${js}'`;
      },
    );
    writeFileSync(file, text);
  }

  // The workflow bundle, built once here instead of at each worker start. Its sha256 names this build
  // of the workflow code (a natural Worker Deployment Version build id). A second bundle carries the
  // OpenTelemetry workflow interceptors, for workers with tracing on: interceptors cannot be added to
  // a prebuilt bundle, and a worker without tracing should not run them.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = {
    log() {},
    trace() {},
    debug() {},
    info() {},
    warn: (m) => console.warn(`[bundler] ${m}`),
    error: (m) => console.error(`[bundler] ${m}`),
  };
  const workflowsPath = join(ROOT, 'src', 'workflows', 'index.ts');
  const bundles = {};
  for (const [key, file, workflowInterceptorModules] of [
    ['workflowBundle', 'workflow-bundle.js', []],
    ['tracedWorkflowBundle', 'workflow-bundle-traced.js', tracingInterceptors()],
  ]) {
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      // The same converter as src/workers/bundle.ts gives every bundle (WORKFLOW_PAYLOAD_CONVERTER_PATH).
      payloadConverterPath: join(ROOT, 'src', 'temporal', 'workflow-payload-converter.ts'),
      workflowInterceptorModules,
      logger: quiet,
    });
    writeFileSync(join(staging, file), code);
    bundles[key] = { file, sha256: createHash('sha256').update(code).digest('hex') };
  }
  const sha256 = bundles.workflowBundle.sha256;

  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const info = { version, sourceHash: hash, ...bundles };
  writeFileSync(join(staging, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);

  // Swap in whole: a process running dist/ never sees half a build. Two builds at once (parallel
  // test projects) both produce the same output; the loser drops its copy.
  rmSync(DIST, { recursive: true, force: true });
  try {
    renameSync(staging, DIST);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (readInfo()?.sourceHash !== hash) throw err;
  }
  console.error(`build: dist/ in ${Date.now() - started} ms (workflow bundle sha256 ${sha256.slice(0, 12)})`);
}

// One build at a time per checkout (both vitest projects ensure the build as they start): the
// second waits, then finds dist/ current.
async function locked(work) {
  const lock = join(ROOT, '.build-lock');
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A build killed mid-way leaves its lock behind; no build takes ten minutes.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 10 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`build: ${lock} held for 5 minutes; remove it if no build is running`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const current = (hash) => existsSync(join(DIST, 'cli.js')) && readInfo()?.sourceHash === hash;

const args = new Set(process.argv.slice(2));
const hash = sourceHash(ROOT);
if (args.has('--print-source-hash')) {
  console.log(hash);
} else if (args.has('--if-stale') && current(hash)) {
  // Same sources, newer files (a rebase, a formatter): mark the build as seen now, so the bin's
  // cheap mtime check does not warn about a build that is in fact current.
  const now = new Date();
  utimesSync(join(DIST, 'build-info.json'), now, now);
} else {
  await locked(async () => {
    if (!(args.has('--if-stale') && current(hash))) await build(hash);
  });
}
