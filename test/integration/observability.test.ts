// What an operator scrapes and traces: `converge dev up` starts the worker with Prometheus metrics on
// and, with OTEL_EXPORTER_OTLP_ENDPOINT set, tracing to a tiny OTLP/HTTP receiver here; a deploy
// through the CLI runs; /metrics then shows the SDK's counters and Converge's own with real, non-zero
// values, and the receiver holds one trace spanning the CLI, the workflows and the activities.
// A stack of its own on free ports in a temp dir, stopped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devStackEnv } from '../support/dev-stack';
import { runConverge } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'converge-observability-'));
let env: NodeJS.ProcessEnv = {};
let metricsPort = 0;

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

/** Spans posted to /v1/traces (OTLP/HTTP, JSON encoding: the exporter's default). */
const received: ReceivedSpan[] = [];
let receiver: Server;

interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }>;
    }>;
  }>;
}

function startReceiver(): Promise<number> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const rs of body.resourceSpans ?? []) {
          const service =
            rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? [])
            for (const sp of ss.spans ?? [])
              received.push({
                service,
                traceId: sp.traceId,
                spanId: sp.spanId,
                parentSpanId: sp.parentSpanId ?? '',
                name: sp.name,
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    receiver.listen(0, '127.0.0.1', () => {
      const address = receiver.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    }),
  );
}

beforeAll(async () => {
  const otlpPort = await startReceiver();
  const stack = await devStackEnv(dir, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  env = stack.env;
  metricsPort = stack.ports.metrics;
  const up = await runConverge(['dev', 'up'], { env, timeoutMs: 170_000 });
  expect(up.code, up.stdout + up.stderr).toBe(0);
  expect(up.stdout).toContain(`Metrics:      http://127.0.0.1:${metricsPort}/metrics`);
});

afterAll(async () => {
  await runConverge(['dev', 'down'], { env, timeoutMs: 60_000 });
  await new Promise((resolve) => receiver.close(resolve));
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

describe('traces', () => {
  /** The spans of the trace a CLI span named `root` started, once `done` holds for them (or 30 s). */
  async function traceOf(root: string, done: (names: Set<string>) => boolean): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const id = received.filter((s) => s.service === 'converge-cli' && s.name === root).at(-1)?.traceId;
      const spans = received.filter((s) => s.traceId === id);
      if ((id !== undefined && done(new Set(spans.map((s) => s.name)))) || Date.now() > deadline)
        return spans;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  const operationDone = (names: Set<string>): boolean =>
    names.has('RunWorkflow:operation') && names.has('RunActivity:associateVmToInstance');

  /** Parents missing from the trace: only the entity's run, which stays open while the entity lives. */
  function missingParents(spans: ReceivedSpan[]): string[] {
    const ids = new Set(spans.map((s) => s.spanId));
    return [
      ...new Set(
        spans.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId)).map((s) => s.parentSpanId),
      ),
    ];
  }

  it('the first deploy: one trace from the CLI update through the entity, the operation and its activities', async () => {
    const spans = await traceOf('UpdateWithStartWorkflow:deploy', operationDone);
    const names = new Set(spans.map((s) => s.name));
    for (const name of [
      'UpdateWithStartWorkflow:deploy',
      'HandleUpdate:deploy',
      'StartChildWorkflow:operation',
      'RunWorkflow:operation',
      'RunActivity:observe',
      'RunActivity:createVms',
      'RunActivity:associateVmToInstance',
    ])
      expect(names, [...names].join(', ')).toContain(name);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['converge-cli', 'converge-worker']));
    expect(missingParents(spans)).toHaveLength(1);
  });

  it('a later operation on the same deployment gets a trace of its own, started by its CLI update', async () => {
    const before = new Set(received.map((s) => s.traceId));
    const stop = await runConverge(['stop', '-d', 'web'], { env, timeoutMs: 170_000 });
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    const spans = await traceOf('StartWorkflowUpdate:stop', (n) => n.has('RunWorkflow:operation'));
    expect(spans.length).toBeGreaterThan(0);
    expect(before.has(spans[0]!.traceId)).toBe(false);
    const names = new Set(spans.map((s) => s.name));
    expect(names, [...names].join(', ')).toContain('RunWorkflow:operation');
    expect([...names].some((n) => n.startsWith('RunActivity:'))).toBe(true);
  });
});

describe('converge operations', () => {
  it("lists the deployment's operations newest first with kind, result, duration and steps", async () => {
    // After the deploy and the stop above.
    const json = await runConverge(['operations', '-d', 'web', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const ops = JSON.parse(json.stdout) as Array<{
      kind: string;
      result: string;
      durationMs: number;
      stepsDone: number;
      stepsTotal: number;
    }>;
    expect(ops.map((o) => [o.kind, o.result])).toEqual([
      ['stop', 'converged'],
      ['deploy', 'converged'],
    ]);
    for (const o of ops) {
      expect(o.durationMs).toBeGreaterThan(0);
      expect(o.stepsDone).toBe(o.stepsTotal);
    }
    // The deploy created and associated the six instances of examples/manifest.yml.
    expect(ops[1]!.stepsTotal).toBeGreaterThanOrEqual(12);

    const table = await runConverge(['operations', '-d', 'web'], { env });
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^OPERATION\s+KIND\s+RESULT\s+STARTED\s+DURATION\s+STEPS$/);
    expect(lines[1]).toMatch(/\sstop\s+converged\s/);
    expect(lines[2]).toMatch(
      new RegExp(`\\sdeploy\\s+converged\\s.*\\s${ops[1]!.stepsTotal}/${ops[1]!.stepsTotal}$`),
    );

    const none = await runConverge(['operations', '-d', 'nosuch'], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("No operations for deployment 'nosuch'.");
  });
});
