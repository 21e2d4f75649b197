// examples/deploy-and-watch.mjs, the public client API's example, run as a user runs it (node, the
// package's "converge/client" export) against a dev stack of its own on free ports.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devStackEnv } from '../support/dev-stack';
import { runConverge } from '../support/cli';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'converge-client-example-'));
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  ({ env } = await devStackEnv(dir));
  const up = await runConverge(['dev', 'up'], { env, timeoutMs: 170_000 });
  expect(up.code, up.stdout + up.stderr).toBe(0);
});

afterAll(async () => {
  await runConverge(['dev', 'down'], { env, timeoutMs: 60_000 });
  rmSync(dir, { recursive: true, force: true });
});

function example(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['examples/deploy-and-watch.mjs', ...args],
      { cwd: ROOT, env, timeout: 170_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        }),
    );
  });
}

describe('examples/deploy-and-watch.mjs', () => {
  it('deploys the example manifest, follows it to converged and lists its instances', async () => {
    const run = await example(['examples/manifest.yml', 'examples/cloud-config.yml']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^started \S+ \(deploy\) of deployment web$/m);
    expect(run.stdout).toMatch(/: converged \(create 6, replace 0, delete 0, keep 0\)$/m);
    expect(run.stdout).toMatch(/^6 instances$/m);
    // What it printed is what the CLI sees.
    const status = await runConverge(['status', '-d', 'web', '--json'], { env });
    expect((JSON.parse(status.stdout) as { instances: unknown[] }).instances).toHaveLength(6);
  });

  it('a bad manifest is a validation error naming the field: exit 2, no stack trace', async () => {
    const run = await example([
      'test/fixtures/invalid/bad-deployment-name.manifest.yml',
      'examples/cloud-config.yml',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
