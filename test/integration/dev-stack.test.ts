// `converge dev up|status|down` as a user runs it: real detached processes (a codec server, a second
// Temporal dev server with its UI, a region, a worker) on free ports in a temporary directory, so a
// stack the developer has running on the default ports is never touched. The region's bearer token is
// a random one of this file, so its absence from every log and CLI output can be checked.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegionClient } from '../../src/cloud/region-client';
import { resolveTemporalCli } from '../../src/temporal/dev-server';
import { operationWorkflowId } from '../../src/workflows/types';
import { devStackEnv } from '../support/dev-stack';
import { runConverge } from '../support/cli';
import { serverRequest } from '../region/helpers';

const SERVICES = ['codec', 'temporal', 'region', 'worker'];
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const MARKER = `marker-${randomBytes(8).toString('hex')}`;
const REGION_TOKEN = `region-token-${randomBytes(12).toString('hex')}`;
/** Everything every `converge` command of this file printed (stdout and stderr). */
const cliOutputs: string[] = [];

const dir = mkdtempSync(join(tmpdir(), 'converge-dev-test-'));
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  // The stack's region and worker both take it from the environment (`dev up` passes it on).
  ({ env } = await devStackEnv(dir, { CONVERGE_REGION_TOKEN: REGION_TOKEN }));
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
    for (const name of SERVICES) expect(up.output).toMatch(new RegExp(`${name}: healthy`));
    expect(up.output).toContain(`http://127.0.0.1:${env.CONVERGE_UI_PORT}/namespaces/default/workflows`);
    const pids = SERVICES.map((name) => Number(readFileSync(join(dir, `${name}.pid`), 'utf8')));

    const status = await converge(['dev', 'status']);
    expect(status.code, status.output).toBe(0);
    expect(status.output.match(/ healthy /g)).toHaveLength(SERVICES.length);

    // Permissions on: the worker trusts the stack's local admin, and the CLI signs as its user.
    expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toContain(
      'permissions on: grants signed by admin key',
    );
    // Versioned: the worker polls as a build of the stack's worker deployment, and up made it current.
    const build = /worker: build (\S+) of worker deployment converge is current/.exec(up.output)?.[1];
    expect(build, up.output).toMatch(/^[0-9_]+-[0-9a-f]{12}$/);
    expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toContain(`deployment converge build ${build}`);
    expect(await currentBuild('converge')).toBe(build);
    // dev status says so too, read from the server: the current build, and that the worker polls it.
    const statusLine = `Worker build: ${build ?? '?'} (current in worker deployment converge; the running worker polls it)`;
    expect(status.output).toContain(statusLine);
    expect(up.output).toContain(statusLine);

    const whoami = await converge(['whoami']);
    expect(whoami.code, whoami.output).toBe(0);
    expect(whoami.output).toMatch(/grant: +\S+ CLOUD_ADMIN on resource pool '\*'/);

    const again = await converge(['dev', 'up']);
    expect(again.code, again.output).toBe(0);
    expect(again.output.match(/already running/g)).toHaveLength(SERVICES.length);
    expect(again.output).toContain(`worker: build ${build} of worker deployment converge is current`);

    const ui = await fetch(`http://127.0.0.1:${env.CONVERGE_UI_PORT}/namespaces/default/workflows`);
    expect(ui.status).toBe(200);
    const region = await fetch(`http://127.0.0.1:${env.CONVERGE_REGION_PORT}/healthz`);
    expect(region.status).toBe(200);

    await expectUiDecodesOperationInput();
    await expectRegionTokenInNoLog();

    const down = await converge(['dev', 'down']);
    expect(down.code, down.output).toBe(0);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    const after = await converge(['dev', 'status']);
    expect(after.code).toBe(1);
    expect(after.output.match(/ stopped /g)).toHaveLength(SERVICES.length);
  });

  it('after a change of the worker code, up makes the new build current and the entity moves to it', async () => {
    const first = await converge(['dev', 'up']);
    expect(first.code, first.output).toBe(0);
    const before = /worker: build (\S+) of worker deployment converge is current/.exec(first.output)?.[1];
    expect(before, first.output).toBeDefined();
    const name = `moving-${randomBytes(3).toString('hex')}`;
    const deployed = await converge(['deploy', renamed('manifest.yml', name), '-c', CLOUD_CONFIG, '--yes']);
    expect(deployed.code, deployed.output).toBe(0);
    expect(await versioningOf(operationWorkflowId(name, 1))).toEqual({ build: before, behavior: PINNED });
    const down = await converge(['dev', 'down']);
    expect(down.code, down.output).toBe(0);

    // Another admin key is another bundle, so another build: what a change of workflow code does.
    rmSync(join(dir, 'admin.json'));
    rmSync(join(dir, 'identity.json'));
    const up = await converge(['dev', 'up']);
    expect(up.code, up.output).toBe(0);
    const after = /worker: build (\S+) of worker deployment converge is current \(was (\S+):/.exec(up.output);
    expect(after?.[2], up.output).toBe(before);
    expect(after?.[1]).not.toBe(before);
    expect(await currentBuild('converge')).toBe(after?.[1]);
    const status = await converge(['dev', 'status']);
    expect(status.output).toContain(
      `Worker build: ${after?.[1] ?? '?'} (current in worker deployment converge; the running worker polls it)`,
    );

    const updated = await converge(['deploy', renamed('manifest-v2.yml', name), '-c', CLOUD_CONFIG, '--yes']);
    expect(updated.code, updated.output).toBe(0);
    expect(await versioningOf(operationWorkflowId(name, 2))).toEqual({ build: after?.[1], behavior: PINNED });
    expect(await versioningOf(`deployment/${name}`)).toEqual({ build: after?.[1], behavior: AUTO_UPGRADE });
    expect((await converge(['dev', 'down'])).code).toBe(0);
  });

  it('refuses a bad port setting as a user error', async () => {
    const bad = await converge(['dev', 'status'], { CONVERGE_REGION_PORT: 'eighty' });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('CONVERGE_REGION_PORT: expected a port 1-65535, got "eighty"');
  });
});

/**
 * Payloads encrypted with the stack's key, and the UI decoding them: its settings name the stack's
 * codec server, which decodes (with CORS for the UI's origin) an operation input taken raw from
 * history, where the manifest's secret is not readable.
 */
async function expectUiDecodesOperationInput(): Promise<void> {
  const ui = `http://127.0.0.1:${env.CONVERGE_UI_PORT}`;
  const codec = `http://127.0.0.1:${env.CONVERGE_CODEC_PORT}`;
  const settings = (await (await fetch(`${ui}/api/v1/settings`)).json()) as {
    Codec?: { Endpoint?: string };
  };
  expect(settings.Codec?.Endpoint).toBe(codec);

  const name = `sealed-${randomBytes(3).toString('hex')}`;
  const manifest = join(dir, 'sealed.yml');
  writeFileSync(
    manifest,
    readFileSync(join(EXAMPLES, 'manifest.yml'), 'utf8')
      .replace(/^name: web$/m, `name: ${name}`)
      .replace('env: {}', `env: {DB_PASSWORD: ${MARKER}}`),
  );
  const deploy = await converge(['deploy', manifest, '-c', join(EXAMPLES, 'cloud-config.yml'), '--yes']);
  expect(deploy.code, deploy.output).toBe(0);
  expect(deploy.output).not.toContain(MARKER);

  // The operation's history as the server holds it: the Temporal CLI, without a codec.
  const { stdout: raw } = await promisify(execFile)(
    resolveTemporalCli(env),
    // prettier-ignore
    [
      'workflow', 'show', '--workflow-id', operationWorkflowId(name, 1), '--output', 'json',
      '--address', `127.0.0.1:${env.CONVERGE_TEMPORAL_PORT}`, '--namespace', 'default',
    ],
    { maxBuffer: 64 * 1024 * 1024, env },
  );
  const history = JSON.parse(raw) as {
    events: { workflowExecutionStartedEventAttributes?: { input?: { payloads: JsonPayload[] } } }[];
  };
  const input = history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  expect(input.length).toBeGreaterThan(0);
  expect(input.map((p) => text(p.metadata.encoding))).toEqual(input.map(() => 'binary/encrypted'));
  expect(raw).not.toContain(MARKER);
  expect(allData(raw)).not.toContain(MARKER);

  // What the UI's page does: a preflight, then POST /decode from the UI's origin.
  const preflight = await fetch(`${codec}/decode`, {
    method: 'OPTIONS',
    headers: { Origin: ui, 'Access-Control-Request-Method': 'POST' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(ui);
  const res = await fetch(`${codec}/decode`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: ui, 'X-Namespace': 'default' },
    body: JSON.stringify({ payloads: input }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe(ui);
  const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
  expect(decoded.map((p) => text(p.metadata.encoding))).toEqual(input.map(() => 'json/plain'));
  expect(decoded.map((p) => text(p.data)).join('\n')).toContain(`"DB_PASSWORD":"${MARKER}"`);
}

/**
 * The region's bearer token in no log: the worker's, the region's, nor anything the CLI printed, for a
 * deploy (above), a deploy failing on the cloud's error, which echoes the request (`POST /v1/servers:
 * static_ip … is already in use`, retried, then failed on its conflict budget), and status. Each
 * capture is shown to hold what it should, and the token to be the one the region checks.
 */
async function expectRegionTokenInNoLog(): Promise<void> {
  const regionUrl = `http://127.0.0.1:${env.CONVERGE_REGION_PORT}`;
  const wrong = await fetch(`${regionUrl}/v1/admin/faults`, { headers: { authorization: 'Bearer nope' } });
  expect(wrong.status).toBe(401);
  const region = new RegionClient({ url: regionUrl, token: REGION_TOKEN });
  // A server outside the deployment holds .12 and is being deleted, slowly: the plan waits for it,
  // the create meets ip_taken until its 6 s budget ends it.
  const squatter = await region.createServer(
    serverRequest({ name: 'squatter', static_ip: '10.0.0.12', tags: { 'converge.deployment': 'other' } }),
  );
  const { delete_ms } = await region.getFaults();
  await region.setFaults({ delete_ms: 10 * 60_000 });
  try {
    await region.deleteServer(squatter.id);
  } finally {
    await region.setFaults({ delete_ms });
  }
  const name = `broken-${randomBytes(3).toString('hex')}`;
  const manifest = join(dir, `${name}.yml`);
  writeFileSync(
    manifest,
    [
      `name: ${name}`,
      'resource_pool: dev',
      'stemcells: [{alias: default, os: ubuntu-jammy, version: "1.181"}]',
      'update: {canaries: 1, max_in_flight: 1, conflict_timeout_minutes: 0.1}',
      'instance_groups:',
      '  - {name: db, instances: 1, azs: [z1], vm_type: medium, stemcell: default,',
      '     networks: [{name: default, static_ips: [10.0.0.12]}]}',
      '',
    ].join('\n'),
  );
  const taken = 'POST /v1/servers: static_ip 10.0.0.12 is already in use';
  const failed = await converge(['deploy', manifest, '-c', CLOUD_CONFIG, '--yes']);
  expect(failed.code, failed.output).toBe(1);
  expect(failed.output).toContain(taken);
  for (const args of [['status'], ['status', '--json']]) {
    const status = await converge([...args, '-d', name]);
    expect(status.output).toContain(name);
  }

  const workerLog = readFileSync(join(dir, 'worker.log'), 'utf8');
  const regionLog = readFileSync(join(dir, 'region.log'), 'utf8');
  // The captures are live: the worker logged the failing create's attempts, the region its start.
  expect(workerLog).toContain(taken);
  expect(regionLog).toContain(`region listening on ${regionUrl}`);
  expect(workerLog).not.toContain(REGION_TOKEN);
  expect(regionLog).not.toContain(REGION_TOKEN);
  expect(cliOutputs.length).toBeGreaterThanOrEqual(6);
  for (const output of cliOutputs) expect(output).not.toContain(REGION_TOKEN);
}

const CLOUD_CONFIG = join(EXAMPLES, 'cloud-config.yml');
const PINNED = 'VERSIONING_BEHAVIOR_PINNED';
const AUTO_UPGRADE = 'VERSIONING_BEHAVIOR_AUTO_UPGRADE';

/** An example manifest under another name and static IP (the first test's holds .10), in the test's directory. */
function renamed(example: string, name: string): string {
  const path = join(dir, `${name}-${example}`);
  writeFileSync(
    path,
    readFileSync(join(EXAMPLES, example), 'utf8')
      .replace(/^name: web$/m, `name: ${name}`)
      .replace('static_ips: [10.0.0.10]', 'static_ips: [10.0.0.11]'),
  );
  return path;
}

/** The build a workflow runs on and its versioning behavior, as the Temporal CLI describes it. */
async function versioningOf(workflowId: string): Promise<{ build?: string; behavior?: string }> {
  const { stdout } = await promisify(execFile)(
    resolveTemporalCli(env),
    // prettier-ignore
    [
      'workflow', 'describe', '--workflow-id', workflowId, '--output', 'json',
      '--address', `127.0.0.1:${env.CONVERGE_TEMPORAL_PORT}`, '--namespace', 'default',
    ],
    { env },
  );
  const info = (
    JSON.parse(stdout) as {
      workflowExecutionInfo?: {
        versioningInfo?: { behavior?: string; deploymentVersion?: { buildId?: string } };
      };
    }
  ).workflowExecutionInfo?.versioningInfo;
  return { build: info?.deploymentVersion?.buildId, behavior: info?.behavior };
}

/** The current build of a worker deployment on the stack's server, as the Temporal CLI reports it. */
async function currentBuild(deployment: string): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)(
    resolveTemporalCli(env),
    // prettier-ignore
    [
      'worker', 'deployment', 'describe', '--name', deployment, '--output', 'json',
      '--address', `127.0.0.1:${env.CONVERGE_TEMPORAL_PORT}`, '--namespace', 'default',
    ],
    { env },
  );
  return (JSON.parse(stdout) as { routingConfig?: { currentVersionBuildID?: string } }).routingConfig
    ?.currentVersionBuildID;
}

/** A payload in proto3 JSON (the Temporal CLI's and the codec server's form): bytes in base64. */
interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

const text = (base64: string | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');

/** The text of every base64 `"data"` field in the CLI's JSON. */
const allData = (json: string): string =>
  [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]*)"/g)]
    .map((m) => Buffer.from(m[1] ?? '', 'base64').toString('latin1'))
    .join('\n');

async function converge(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const run = await runConverge(args, { env: { ...env, ...extra }, timeoutMs: 170_000 });
  const output = `${run.stdout}${run.stderr}`;
  cliOutputs.push(output);
  return { code: run.code ?? 1, output };
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
