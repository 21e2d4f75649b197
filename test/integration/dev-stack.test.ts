// `converge dev up|status|down` as a user runs it: real detached processes (a second Temporal dev
// server with its UI, a region, a worker) on free ports in a temporary directory, so a stack the
// developer has running on the default ports is never touched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devStackEnv } from '../support/dev-stack';
import { runConverge } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'converge-dev-test-'));
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  ({ env } = await devStackEnv(dir));
});

afterAll(async () => {
  // Whatever happened above, nothing this file started may outlive it.
  await converge(['dev', 'down']);
  rmSync(dir, { recursive: true, force: true });
});

describe('converge dev', () => {
  it('starts the stack, reports it healthy, is idempotent, and stops every process', async () => {
    const up = await converge(['dev', 'up']);
    expect(up.code, up.output).toBe(0);
    for (const name of ['temporal', 'region', 'worker'])
      expect(up.output).toMatch(new RegExp(`${name}: healthy`));
    expect(up.output).toContain(`http://127.0.0.1:${env.CONVERGE_UI_PORT}/namespaces/default/workflows`);
    const pids = ['temporal', 'region', 'worker'].map((name) =>
      Number(readFileSync(join(dir, `${name}.pid`), 'utf8')),
    );

    const status = await converge(['dev', 'status']);
    expect(status.code, status.output).toBe(0);
    expect(status.output.match(/ healthy /g)).toHaveLength(3);

    // Permissions on: the worker trusts the stack's local admin, and the CLI signs as its user.
    expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toContain(
      'permissions on: grants signed by admin key',
    );
    const whoami = await converge(['whoami']);
    expect(whoami.code, whoami.output).toBe(0);
    expect(whoami.output).toMatch(/grant: +\S+ CLOUD_ADMIN on resource pool '\*'/);

    const again = await converge(['dev', 'up']);
    expect(again.code, again.output).toBe(0);
    expect(again.output.match(/already running/g)).toHaveLength(3);

    const ui = await fetch(`http://127.0.0.1:${env.CONVERGE_UI_PORT}/namespaces/default/workflows`);
    expect(ui.status).toBe(200);
    const region = await fetch(`http://127.0.0.1:${env.CONVERGE_REGION_PORT}/healthz`);
    expect(region.status).toBe(200);

    const down = await converge(['dev', 'down']);
    expect(down.code, down.output).toBe(0);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    const after = await converge(['dev', 'status']);
    expect(after.code).toBe(1);
    expect(after.output.match(/ stopped /g)).toHaveLength(3);
  });

  it('refuses a bad port setting as a user error', async () => {
    const bad = await converge(['dev', 'status'], { CONVERGE_REGION_PORT: 'eighty' });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('CONVERGE_REGION_PORT: expected a port 1-65535, got "eighty"');
  });
});

async function converge(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const run = await runConverge(args, { env: { ...env, ...extra }, timeoutMs: 170_000 });
  return { code: run.code ?? 1, output: `${run.stdout}${run.stderr}` };
}

// Exited processes whose parent has not reaped them yet (zombies) count as gone.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
