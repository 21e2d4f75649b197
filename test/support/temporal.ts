// The one helper for the Temporal side of integration tests (sdk-typescript's helpers-integration):
// connections to the suite's dev server (test/integration/global-setup.ts), a workflow bundle built
// once per test process, workers on a task queue named after the test.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  type Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { inject } from 'vitest';
import { dataConverter } from '../../src/temporal/data-converter';
import type { Cloud } from '../../src/cloud/port';
import { bundleWorkflows } from '../../src/workers/bundle';
import { WORKFLOWS_PATH } from '../../src/workers/paths';
import type { WorkerTuning } from '../../src/workers/tuning';

// Workers log every state change at INFO; tests want warnings and errors only. The Runtime is
// per process and must be configured before the first connection.
try {
  Runtime.install({
    logger: new DefaultLogger((process.env.CONVERGE_TEST_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN'),
  });
} catch (err) {
  if (!(err instanceof IllegalStateError)) throw err;
}

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export function temporalNamespace(): string {
  return inject('temporalNamespace');
}

/** Environment for a child process (the CLI, a worker) that must talk to the suite's server. */
export function temporalEnv(taskQueue?: string): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    ...(taskQueue !== undefined ? { CONVERGE_TASK_QUEUE: taskQueue } : {}),
  };
}

/** A task queue of its own for each test, readable in the UI and in failures. */
export function taskQueueFor(testName: string): string {
  const slug = testName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `test-${slug || 'unnamed'}-${randomBytes(3).toString('hex')}`;
}

let clientConnection: Promise<Connection> | undefined;
let workerConnection: Promise<NativeConnection> | undefined;

/** A client on the suite's server; the connection is shared by the test file. */
export async function testClient(): Promise<Client> {
  clientConnection ??= Connection.connect({ address: temporalAddress() });
  return new Client({ connection: await clientConnection, namespace: temporalNamespace(), dataConverter });
}

/** The raw connection, for operator and workflow service calls. */
export async function testConnection(): Promise<Connection> {
  clientConnection ??= Connection.connect({ address: temporalAddress() });
  return clientConnection;
}

export async function testWorkerConnection(): Promise<NativeConnection> {
  workerConnection ??= NativeConnection.connect({ address: temporalAddress() });
  return workerConnection;
}

/**
 * The bundle of `workflowsPath`: for src/workflows the one the global setup built for the whole
 * suite, otherwise (or if that failed) built once per test file.
 */
export function testBundle(workflowsPath: string = WORKFLOWS_PATH): Promise<WorkflowBundleOption> {
  const prebuilt = workflowsPath === WORKFLOWS_PATH ? inject('workflowBundlePath') : '';
  return prebuilt !== '' ? Promise.resolve({ codePath: prebuilt }) : bundleWorkflows(workflowsPath);
}

export interface TestWorkerOptions {
  taskQueue: string;
  /** The cloud the activities use, e.g. a client of a region started for the test. */
  cloud: Cloud;
  /** What `cloud` computes on, so operations check cloud configs against it (default: unchecked). */
  cloudKind?: 'region' | 'ec2';
  tuning?: Partial<WorkerTuning>;
  /** The worker's environment (e.g. CONVERGE_DEFAULT_VM_STRATEGY); empty by default, never the test's own. */
  env?: Record<string, string>;
}

/**
 * A Converge worker (real workflows, real activities) on the suite's server. Run it around the test
 * body with `worker.runUntil(async () => { ... })`, which also shuts it down when the body throws.
 */
export async function createTestWorker(options: TestWorkerOptions): Promise<Worker> {
  // Imported lazily so that tests of the infrastructure alone (smoke.test.ts) do not load the
  // activities and workflows.
  const { createConvergeWorker } = await import('../../src/workers/worker');
  const { worker } = await createConvergeWorker({
    taskQueue: options.taskQueue,
    cloud: options.cloud,
    ...(options.cloudKind !== undefined ? { cloudKind: options.cloudKind } : {}),
    connection: await testWorkerConnection(),
    namespace: temporalNamespace(),
    workflowBundle: await testBundle(),
    ...(options.tuning !== undefined ? { tuning: options.tuning } : {}),
    env: options.env ?? {},
  });
  return worker;
}

/** Closes this file's shared connections; call from afterAll. */
export async function closeTestConnections(): Promise<void> {
  const client = clientConnection;
  const native = workerConnection;
  clientConnection = undefined;
  workerConnection = undefined;
  await Promise.all([client?.then((c) => c.close()), native?.then((c) => c.close())]);
}

/**
 * The history length once nothing more is coming: an entity is idle as soon as it records the
 * operation's result (a signal), but the child's completion lands in its history a moment later.
 */
export async function settledHistoryLength(handle: {
  fetchHistory(): Promise<{ events?: unknown[] | null }>;
}): Promise<number> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 200 && stable < 3; i++) {
    const n = (await handle.fetchHistory()).events?.length ?? 0;
    stable = n === last ? stable + 1 : 0;
    last = n;
    await new Promise((r) => setTimeout(r, 150));
  }
  return last;
}

interface HistoryEventLike {
  eventId?: unknown;
  eventType?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  [attributes: string]: unknown;
}

/**
 * The event types of a workflow's settled history, without what comes and goes on its own: bare
 * workflow tasks (under load the server keeps a rejected update's speculative task instead of
 * dropping it) and the watch's passes (a pass returns when the cloud's status changes, e.g. a
 * health report, and the next starts). Whatever a request causes (an accepted update, an operation,
 * a signal, a marker, a timer) stays, so "refused and changed nothing" compares these.
 */
export async function requestEvents(handle: {
  fetchHistory(): Promise<{ events?: unknown[] | null }>;
}): Promise<string[]> {
  await settledHistoryLength(handle);
  const events = ((await handle.fetchHistory()).events ?? []) as HistoryEventLike[];
  const name = (t: unknown): string =>
    typeof t === 'number' ? (temporal.api.enums.v1.EventType[t] ?? String(t)) : String(t);
  const watchPasses = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchCloud')
      .map((e) => String(e.eventId)),
  );
  const ofWatchPass = (e: HistoryEventLike): boolean =>
    watchPasses.has(String(e.eventId)) ||
    Object.entries(e).some(
      ([key, value]) =>
        key.startsWith('activityTask') &&
        typeof value === 'object' &&
        value !== null &&
        watchPasses.has(String((value as { scheduledEventId?: unknown }).scheduledEventId)),
    );
  const bare = /^EVENT_TYPE_WORKFLOW_TASK_(SCHEDULED|STARTED|COMPLETED)$/;
  return events.filter((e) => !bare.test(name(e.eventType)) && !ofWatchPass(e)).map((e) => name(e.eventType));
}
