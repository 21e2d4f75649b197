// The idle watch (`--only idle-watch`): N small deployments that nothing happens to, watched for a
// window, on one worker process. What an idle deployment costs: history events per idle hour (from the
// entities' histories), watch reads per hour (the passes' own count of looks), and the worker's CPU.
//
// A pass that sees no change returns after WATCH_BOUND_MS (an hour). A window of a few minutes would
// see no pass end, so the entities get a shorter bound (limits.watchBoundMs) and the figure is scaled:
// events per pass × passes per hour at the real bound, plus whatever else the entities wrote in the
// window per hour as measured (nothing, if the design holds; the event types are printed to show it).
// The worker's CPU is measured at the shorter bound, so it includes a pass start per bound: an upper
// bound for the real one.
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Deployments } from '../../src/client/deployments';
import { connectClient } from '../../src/temporal/connection';
import { DEFAULT_WATCH_INTERVAL_SECONDS } from '../../src/workflows/heal';
import { deploymentWorkflowId } from '../../src/workflows/types';
import { WATCH_BOUND_MS } from '../../src/workflows/watch';
import { millis } from './history';
import { benchCloudConfig, benchManifest } from './inputs';
import { cpuSeconds, NAMESPACE, startWorker, type Stack } from './stack';

const EventType = proto.temporal.api.enums.v1.EventType;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const TASK_QUEUE = 'converge-bench-idle';
const HOUR_MS = 3_600_000;

export interface IdleWatchOptions {
  deployments: number;
  instances: number;
  windowMs: number;
  /** The bound the entities' passes get (limits.watchBoundMs). */
  boundMs: number;
  say: (line: string) => void;
}

export interface IdleWatchRow {
  deployments: number;
  instancesEach: number;
  intervalS: number;
  boundMs: number;
  windowMs: number;
  /** Watch passes that ended in the window, over all deployments. */
  passes: number;
  /** Entity history events in the window, over all deployments, and by type. */
  events: number;
  eventsByType: Record<string, number>;
  /** Events that are not a pass's activity or workflow task (time-driven, if any). */
  otherEvents: number;
  eventsPerPass: number | null;
  /** Per deployment, at the shortened bound, as measured. */
  eventsPerHourMeasured: number;
  /** Per deployment, scaled to the real bound (see the header). */
  eventsPerIdleHour: number | null;
  /** Per deployment: looks per hour of passes that ended in the window. */
  readsPerHour: number | null;
  workerCpuSPerMin: number;
  temporalCpuSPerMin: number;
  regionCpuSPerMin: number;
  /** Entities that continued as new in the window (their earlier run is counted too). */
  continuedAsNew: number;
}

export async function runIdleWatch(stack: Stack, o: IdleWatchOptions): Promise<IdleWatchRow> {
  const worker = await startWorker(stack, { taskQueue: TASK_QUEUE });
  const { client, connection } = await connectClient({
    TEMPORAL_ADDRESS: stack.temporal.address,
    TEMPORAL_NAMESPACE: NAMESPACE,
  });
  try {
    const deployments = new Deployments(client, {
      taskQueue: TASK_QUEUE,
      limits: { watchBoundMs: o.boundMs },
    });
    const names = Array.from({ length: o.deployments }, (_, i) => `idle-${i}`);
    o.say(`idle-watch: deploying ${o.deployments} deployments of ${o.instances} (not measured)`);
    await inBatches(names, 10, async (name) => {
      const ticket = await deployments.deploy(name, {
        manifest: benchManifest(name, o.instances),
        cloudConfig: benchCloudConfig,
      });
      const result = await deployments.wait(ticket);
      if (result.status !== 'converged') throw new Error(`${name}: ${result.status}`);
    });
    o.say('idle-watch: waiting until every deployment has a watch pass running');
    await untilEveryPassRuns(client, names);

    const runsAtStart = await Promise.all(
      names.map(async (n) => (await client.workflow.getHandle(deploymentWorkflowId(n)).describe()).runId),
    );
    const cpu0 = cpuNow(stack, worker.pid);
    const t0 = Date.now();
    o.say(`idle-watch: measuring for ${(o.windowMs / 60_000).toFixed(1)} min`);
    for (let left = o.windowMs; left > 0; left -= 60_000) {
      await sleep(Math.min(left, 60_000));
      if (left > 60_000) o.say(`idle-watch: ${((o.windowMs - left + 60_000) / 60_000).toFixed(0)} min`);
    }
    const t1 = Date.now();
    const cpu1 = cpuNow(stack, worker.pid);

    const tally = newTally();
    let continuedAsNew = 0;
    for (const [i, name] of names.entries()) {
      const id = deploymentWorkflowId(name);
      const current = (await client.workflow.getHandle(id).describe()).runId;
      const runs = [runsAtStart[i], current];
      if (runs[0] !== current) continuedAsNew += 1;
      for (const runId of new Set(runs)) await countRun(client, id, runId, t0, t1, tally);
    }
    const windowMs = t1 - t0;
    const perMin = (s: number): number => s / (windowMs / 60_000);
    const passEvents = tally.events - tally.other;
    const eventsPerPass = tally.passes > 0 ? passEvents / tally.passes : null;
    const otherPerHour = (tally.other / o.deployments) * (HOUR_MS / windowMs);
    return {
      deployments: o.deployments,
      instancesEach: o.instances,
      intervalS: DEFAULT_WATCH_INTERVAL_SECONDS,
      boundMs: o.boundMs,
      windowMs,
      passes: tally.passes,
      events: tally.events,
      eventsByType: tally.byType,
      otherEvents: tally.other,
      eventsPerPass,
      eventsPerHourMeasured: (tally.events / o.deployments) * (HOUR_MS / windowMs),
      eventsPerIdleHour:
        eventsPerPass === null ? null : eventsPerPass * (HOUR_MS / WATCH_BOUND_MS) + otherPerHour,
      readsPerHour: tally.passMs > 0 ? (tally.looks / tally.passMs) * HOUR_MS : null,
      workerCpuSPerMin: perMin(cpu1.worker - cpu0.worker),
      temporalCpuSPerMin: perMin(cpu1.temporal - cpu0.temporal),
      regionCpuSPerMin: perMin(cpu1.region - cpu0.region),
      continuedAsNew,
    };
  } finally {
    await connection.close();
    await worker.stop();
  }
}

export function idleWatchLines(r: IdleWatchRow): string {
  const f = (n: number | null, digits = 1): string => (n === null ? '–' : n.toFixed(digits));
  const types = Object.entries(r.eventsByType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return [
    `| deployments × instances | watch interval | bound (measured → real) | window | passes | events/pass | events per idle hour per deployment | watch reads per hour per deployment | worker CPU s/min | Temporal CPU s/min | region CPU s/min |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    `| ${r.deployments} × ${r.instancesEach} | ${r.intervalS} s | ${r.boundMs / 1000} s → ${WATCH_BOUND_MS / 60_000} min | ${(r.windowMs / 60_000).toFixed(1)} min | ${r.passes} | ${f(r.eventsPerPass, 2)} | ${f(r.eventsPerIdleHour, 2)} | ${f(r.readsPerHour, 0)} | ${r.workerCpuSPerMin.toFixed(2)} | ${r.temporalCpuSPerMin.toFixed(2)} | ${r.regionCpuSPerMin.toFixed(2)} |`,
    '',
    `Measured at the ${r.boundMs / 1000} s bound: ${r.events} entity history events in the window, ` +
      `${f(r.eventsPerHourMeasured, 1)} per deployment-hour; by type: ${types || 'none'}. ` +
      `Not part of a pass: ${r.otherEvents}. Continued as new: ${r.continuedAsNew}.`,
    `events per idle hour = events per pass × ${HOUR_MS / WATCH_BOUND_MS} pass(es) per hour at the real bound` +
      ` + other events per hour as measured. CPU is at the ${r.boundMs / 1000} s bound (a pass start per bound).`,
  ].join('\n');
}

interface Tally {
  events: number;
  other: number;
  passes: number;
  looks: number;
  passMs: number;
  byType: Record<string, number>;
}

const newTally = (): Tally => ({ events: 0, other: 0, passes: 0, looks: 0, passMs: 0, byType: {} });

/** A pass's own events: its activity's three and the workflow task that takes its result. */
const PASS_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
]);

async function countRun(
  client: Client,
  workflowId: string,
  runId: string | undefined,
  t0: number,
  t1: number,
  tally: Tally,
): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const watchScheduled = new Set<string>();
  const startedAt = new Map<string, number>();
  for (const e of history.events ?? []) {
    const at = millis(e.eventTime);
    const id = String(e.eventId ?? '');
    const type = e.eventType ?? 0;
    if (type === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'watchCloud') watchScheduled.add(id);
    }
    if (type === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      startedAt.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? ''), at);
    }
    if (at < t0 || at > t1) continue;
    tally.events += 1;
    const name = EventType[type] ?? String(type);
    tally.byType[name] = (tally.byType[name] ?? 0) + 1;
    if (!PASS_EVENTS.has(type)) tally.other += 1;
    const done = e.activityTaskCompletedEventAttributes;
    if (type !== EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED || !done) continue;
    const scheduled = String(done.scheduledEventId ?? '');
    if (!watchScheduled.has(scheduled)) continue;
    tally.passes += 1;
    const payload = done.result?.payloads?.[0];
    const looks = payload ? defaultPayloadConverter.fromPayload<{ looks?: number }>(payload).looks : 0;
    const began = startedAt.get(scheduled);
    if (typeof looks === 'number' && began !== undefined) {
      tally.looks += looks;
      tally.passMs += at - began;
    }
  }
}

async function untilEveryPassRuns(client: Client, names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 300_000;
  let waiting = [...names];
  while (waiting.length > 0) {
    if (Date.now() > deadline) throw new Error(`no watch pass running for ${waiting.join(', ')}`);
    const running = await Promise.all(
      waiting.map(async (n) => {
        const { raw } = await client.workflow.getHandle(deploymentWorkflowId(n)).describe();
        return (raw.pendingActivities ?? []).some(
          (a) => a.activityType?.name === 'watchCloud' && a.state === STARTED,
        );
      }),
    );
    waiting = waiting.filter((_, i) => !running[i]);
    if (waiting.length > 0) await sleep(1_000);
  }
}

function cpuNow(stack: Stack, workerPid: number): { worker: number; temporal: number; region: number } {
  return {
    worker: cpuSeconds(workerPid),
    temporal: cpuSeconds(stack.temporal.pid),
    region: cpuSeconds(stack.region.pid),
  };
}

async function inBatches<T>(items: readonly T[], size: number, each: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
