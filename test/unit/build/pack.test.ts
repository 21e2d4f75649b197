// What `npm pack` ships: the compiled CLI and client API with their types, the prebuilt workflow
// bundles, the bin, the examples (the dev stack's region.yml among them) and the script that finds
// the Temporal CLI; no sources, tests or recorded histories.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface PackEntry {
  files: Array<{ path: string }>;
}

describe('npm pack', () => {
  it('ships dist/, bin/, examples/ and the Temporal CLI script, and nothing of src/ or test/', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const files = (JSON.parse(out) as PackEntry[])[0]!.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'bin/converge.mjs',
      'dist/cli.js',
      'dist/client.js',
      'dist/types/client/api.d.ts',
      'dist/workflow-bundle.js',
      'dist/workflow-bundle-traced.js',
      'dist/build-info.json',
      'examples/region.yml',
      'examples/deploy-and-watch.mjs',
      'scripts/temporal.sh',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(src|test|bench|scripts\/(?!temporal\.sh$))\//.test(f))).toEqual([]);
    expect(files.filter((f) => /histories|\.test\.ts$/.test(f))).toEqual([]);
  });
});
