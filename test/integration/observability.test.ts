// What an operator scrapes: `converge dev up` starts the worker with Prometheus metrics on, a deploy
// through the CLI runs, and /metrics then shows the SDK's counters and Converge's own with real,
// non-zero values. A stack of its own on free ports in a temp dir, stopped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/processes';
import { runConverge } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'converge-observability-'));
let env: NodeJS.ProcessEnv = {};
let metricsPort = 0;

beforeAll(async () => {
  const [temporal, ui, region] = [await freePort(), await freePort(), await freePort()];
  metricsPort = await freePort();
  env = {
    ...process.env,
    CONVERGE_DEBUG: '',
    CONVERGE_DEV_DIR: dir,
    CONVERGE_TEMPORAL_PORT: String(temporal),
    CONVERGE_UI_PORT: String(ui),
    CONVERGE_REGION_PORT: String(region),
    CONVERGE_METRICS_PORT: String(metricsPort),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TEMPORAL_NAMESPACE: 'default',
  };
  for (const name of ['CONVERGE_TASK_QUEUE', 'CONVERGE_REGION_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS']) {
    delete env[name];
  }
  const up = await runConverge(['dev', 'up'], { env, timeoutMs: 170_000 });
  expect(up.code, up.stdout + up.stderr).toBe(0);
  expect(up.stdout).toContain(`Metrics:      http://127.0.0.1:${metricsPort}/metrics`);
});

afterAll(async () => {
  await runConverge(['dev', 'down'], { env, timeoutMs: 60_000 });
  rmSync(dir, { recursive: true, force: true });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments and blank lines skipped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const total = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe('worker metrics', () => {
  it('after a deploy, /metrics counts the operation, its steps, the cloud calls and the SDK tasks', async () => {
    const deploy = await runConverge(
      ['deploy', 'examples/manifest.yml', '-c', 'examples/cloud-config.yml', '--yes'],
      { env, timeoutMs: 170_000 },
    );
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);

    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseMetrics(await res.text());

    expect(total(samples, 'converge_operations', { kind: 'deploy', result: 'converged' })).toBe(1);
    expect(total(samples, 'converge_operations', { result: 'failed' })).toBe(0);
    // examples/manifest.yml: 6 instances, each created and associated.
    expect(total(samples, 'converge_steps', { kind: 'create-vm', result: 'done' })).toBe(6);
    expect(total(samples, 'converge_steps', { kind: 'associate-vm-to-instance', result: 'done' })).toBe(6);
    expect(total(samples, 'converge_steps', { result: 'failed' })).toBe(0);
    expect(total(samples, 'converge_cloud_requests', { call: 'createServer' })).toBeGreaterThanOrEqual(6);
    expect(total(samples, 'converge_cloud_requests')).toBeGreaterThan(
      total(samples, 'converge_cloud_requests', { call: 'createServer' }),
    );
    // The SDK's runtime telemetry is on the same endpoint.
    expect(total(samples, 'temporal_workflow_completed')).toBeGreaterThanOrEqual(1);
    expect(total(samples, 'temporal_activity_execution_latency_count')).toBeGreaterThan(0);
  });
});
