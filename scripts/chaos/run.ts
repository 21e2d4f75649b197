// The chaos runner: for each scenario and run, deploy a baseline, then apply the workload's operations
// while the scenario breaks things, then a follow-up deploy; DESIGN §9 is checked after every
// operation. Returns per-run outcomes and the table rows; `ok` is false on any violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { Deployments } from '../../src/client/deployments';
import { TAG } from '../../src/domain/cloud';
import { UserError } from '../../src/domain/errors';
import type { Manifest } from '../../src/domain/manifest';
import type { OperationResult, OperationTicket } from '../../src/workflows/types';
import { checkInvariants, lastEventSeq } from '../../test/support/invariants';
import { deriveSeed, prng } from './prng';
import { sleep } from './processes';
import {
  SCENARIO_IDS,
  SCENARIOS,
  type ProcessKind,
  type RunningOperation,
  type Scenario,
  type ScenarioContext,
  type ScenarioId,
} from './scenarios';
import { ChaosStack, retryFor, writeWorkflowBundle } from './stack';
import { workload, type Workload } from './workload';
import { operationNameOf } from '../../src/workflows/incarnation';

export interface ChaosOptions {
  seed: number;
  scenarios: readonly ScenarioId[];
  /** Runs per scenario. */
  runs: number | Partial<Record<ScenarioId, number>>;
  instances: number;
  killsPerOperation: number;
  /**
   * When a kill comes: a delay (ms) drawn from this range, from the operation's start or the previous
   * restart. Fixed per mode (not measured) so that a seed names the same moments on any machine; a
   * moment after the operation has ended kills nothing.
   */
  momentMs: readonly [number, number];
  /** Independent stacks the scenarios are spread over (they run at the same time). */
  lanes: number;
  /** Break every step of the workload, or one step per run picked by the seed. */
  brokenSteps: 'all' | 'one';
  /** An operation not ended this long after its start is cancelled and counted as not converged. */
  operationTimeoutMs: number;
  buildMs: number;
  deleteMs: number;
  buildDeadlineMs: number;
  /** Keep the temp dir (logs, both databases) even when everything passed. */
  keep: boolean;
  say: (line: string) => void;
}

export const FULL: Omit<ChaosOptions, 'say' | 'seed'> = {
  scenarios: SCENARIO_IDS,
  runs: {
    'worker-kill': 6,
    'temporal-kill': 2,
    'region-kill': 2,
    'region-faults': 2,
    'two-workers': 2,
    'concurrent-deploys': 2,
  },
  instances: 30,
  killsPerOperation: 2,
  momentMs: [300, 8_000],
  brokenSteps: 'all',
  lanes: 1,
  operationTimeoutMs: 300_000,
  buildMs: 300,
  deleteMs: 200,
  buildDeadlineMs: 5_000,
  keep: false,
};

/** What `npm test` runs (test/chaos/chaos.test.ts) and `npm run chaos -- --short`. */
export const SHORT: Omit<ChaosOptions, 'say' | 'seed'> = {
  ...FULL,
  runs: 1,
  instances: 12,
  killsPerOperation: 1,
  momentMs: [300, 4_000],
  brokenSteps: 'one',
  lanes: 3,
  operationTimeoutMs: 150_000,
};

export interface OperationOutcome {
  label: string;
  operation: string;
  status: OperationResult['status'] | 'timeout';
  /** Whether the scenario broke things during this operation. */
  chaos: boolean;
  ms: number;
  failure: string | null;
  remaining: number;
}

export interface InvariantTotals {
  orphans: number;
  leakedAllocations: number;
  leakedVolumes: number;
  duplicates: number;
  twoStageViolations: number;
}

export interface RunOutcome {
  scenario: ScenarioId;
  run: number;
  seed: number;
  deployment: string;
  kills: Record<ProcessKind, number>;
  operations: OperationOutcome[];
  followUp: OperationOutcome | null;
  invariants: InvariantTotals;
  problems: string[];
  notes: string[];
}

export interface ScenarioRow {
  scenario: ScenarioId;
  runs: number;
  kills: string;
  duplicates: number;
  leakedAllocations: number;
  leakedVolumes: number;
  orphans: number;
  twoStageViolations: number;
  converged: string;
  medianMs: number | null;
  followUps: string;
}

export interface ChaosReport {
  runs: RunOutcome[];
  rows: ScenarioRow[];
  ok: boolean;
  elapsedMs: number;
  dir: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'converge-chaos-'));
  options.say(`chaos: seed ${options.seed}, ${options.instances} instances, state and logs in ${dir}`);
  const bundle = writeWorkflowBundle(join(dir, 'workflow-bundle.js'));
  bundle.catch(() => undefined); // awaited (and reported) by the first worker start
  const lanes = assignLanes(options.scenarios, options.lanes);
  const results = await Promise.all(
    lanes.map((ids, i) => {
      const prefix = lanes.length > 1 ? `[lane ${i + 1}] ` : '';
      const say = (line: string): void =>
        options.say(
          line
            .split('\n')
            .map((l) => prefix + l)
            .join('\n'),
        );
      return runLane(ids, join(dir, `lane-${i + 1}`), bundle, { ...options, say });
    }),
  );
  const runs = options.scenarios.flatMap((id) => results.flat().filter((r) => r.scenario === id));
  const rows = tabulate(options.scenarios, runs);
  const ok = runs.every(runOk) && runs.length > 0;
  if (ok && !options.keep) rmSync(dir, { recursive: true, force: true });
  return { runs, rows, ok, elapsedMs: Date.now() - started, dir };
}

/** Relative cost of a scenario's run (kills of a worker wait out heartbeat timeouts), to balance lanes. */
const WEIGHT: Record<ScenarioId, number> = {
  'worker-kill': 3,
  'two-workers': 3,
  'region-faults': 2,
  'temporal-kill': 1,
  'region-kill': 1,
  'concurrent-deploys': 1,
};

/** Scenarios split over `count` independent stacks, heaviest first onto the lightest lane. */
export function assignLanes(scenarios: readonly ScenarioId[], count: number): ScenarioId[][] {
  const lanes = Array.from({ length: Math.max(1, Math.min(count, scenarios.length)) }, () => ({
    ids: [] as ScenarioId[],
    weight: 0,
  }));
  const heaviestFirst = [...scenarios].sort((a, b) => WEIGHT[b] - WEIGHT[a]);
  for (const id of heaviestFirst) {
    const lane = lanes.reduce((min, l) => (l.weight < min.weight ? l : min));
    lane.ids.push(id);
    lane.weight += WEIGHT[id];
  }
  return lanes.map((l) => scenarios.filter((id) => l.ids.includes(id)));
}

async function runLane(
  ids: ScenarioId[],
  dir: string,
  bundle: Promise<string>,
  options: ChaosOptions,
): Promise<RunOutcome[]> {
  const { say } = options;
  const runs: RunOutcome[] = [];
  let stack: ChaosStack | null = null;
  try {
    stack = await ChaosStack.start({
      dir,
      faults: { build_ms: options.buildMs, delete_ms: options.deleteMs },
      buildDeadlineMs: options.buildDeadlineMs,
      bundle,
      say,
    });
    say(`chaos: temporal ${stack.temporalAddress}, region ${stack.regionUrl}: ${ids.join(', ')}`);
    for (const id of ids) {
      const count = typeof options.runs === 'number' ? options.runs : (options.runs[id] ?? 0);
      for (let run = 1; run <= count; run++) {
        const outcome = await runOnce(stack, SCENARIOS[id], run, options);
        runs.push(outcome);
        say(describeRun(outcome));
      }
    }
  } catch (err) {
    // A stack that cannot start fails every run it owed.
    say(`chaos: lane stopped: ${err instanceof Error ? err.message : String(err)}`);
    for (const id of ids.filter((x) => !runs.some((r) => r.scenario === x))) {
      runs.push(emptyOutcome(id, 1, options.seed, `lane stopped: ${String(err)}`));
    }
  } finally {
    await stack?.close().catch(() => undefined);
  }
  return runs;
}

function emptyOutcome(scenario: ScenarioId, run: number, seed: number, problem: string): RunOutcome {
  return {
    scenario,
    run,
    seed,
    deployment: '-',
    kills: { worker: 0, temporal: 0, region: 0 },
    operations: [],
    followUp: null,
    invariants: { orphans: 0, leakedAllocations: 0, leakedVolumes: 0, duplicates: 0, twoStageViolations: 0 },
    problems: [problem],
    notes: [],
  };
}

export function runOk(r: RunOutcome): boolean {
  const i = r.invariants;
  return (
    r.problems.length === 0 &&
    i.orphans + i.leakedAllocations + i.leakedVolumes + i.duplicates + i.twoStageViolations === 0 &&
    r.followUp?.status === 'converged'
  );
}

async function runOnce(
  stack: ChaosStack,
  scenario: Scenario,
  run: number,
  options: ChaosOptions,
): Promise<RunOutcome> {
  const seed = deriveSeed(options.seed, scenario.id, run);
  const rng = prng(seed);
  const deployment = `chaos-${scenario.id}-${run}-${seed.toString(36)}`;
  const outcome: RunOutcome = {
    scenario: scenario.id,
    run,
    seed,
    deployment,
    kills: { worker: 0, temporal: 0, region: 0 },
    operations: [],
    followUp: null,
    invariants: { orphans: 0, leakedAllocations: 0, leakedVolumes: 0, duplicates: 0, twoStageViolations: 0 },
    problems: [],
    notes: [],
  };
  const { say } = options;
  say(`── ${scenario.id} run ${run} (seed ${seed}): ${deployment}`);
  try {
    await ensureWorkerCount(stack, scenario.workers);
    const deployments = await stack.deployments();
    const w = workload(deployment, options.instances);

    const t0 = Date.now();
    const baseline = await deployAndWait(stack, deployments, deployment, w, w.baseline, options, 'baseline');
    const baselineMs = Date.now() - t0;
    if (baseline.status !== 'converged') {
      outcome.problems.push(
        `baseline deploy did not converge: ${baseline.failure?.message ?? baseline.status}`,
      );
      return outcome;
    }
    say(`    baseline converged in ${baselineMs} ms`);

    // Which steps are broken: all (full run), or one picked by the seed (short run, keeps npm test quick).
    const broken = new Set(
      options.brokenSteps === 'all' ? w.steps.map((_, i) => i) : [rng.int(0, w.steps.length - 1)],
    );
    for (const [i, step] of w.steps.entries()) {
      const chaosOn = broken.has(i);
      const extra: OperationTicket[] = [];
      const ctx: ScenarioContext = {
        stack,
        rng: rng.fork(step.label),
        momentMs: options.momentMs,
        killsPerOperation: options.killsPerOperation,
        kill: (kind) => (outcome.kills[kind] += 1),
        deploy: () => deployments.deploy(deployment, { manifest: step.manifest, cloudConfig: w.cloudConfig }),
        track: (ticket) => extra.push(ticket),
        problem: (line) => outcome.problems.push(`${step.label}: ${line}`),
        note: (line) => outcome.notes.push(`${step.label}: ${line}`),
        say,
      };
      const sinceSeq = await lastEventSeq(stack.cloud);
      const begin = Date.now();
      const ticket = await (chaosOn && scenario.launch ? scenario.launch(ctx) : ctx.deploy());
      let done = false;
      const waiting = waitResilient(stack, deployments, ticket, begin + options.operationTimeoutMs);
      const ended = waiting.then(
        () => undefined,
        () => undefined,
      );
      void ended.then(() => (done = true));
      const op: RunningOperation = { startedAt: begin, isDone: () => done, ended };
      const chaos = chaosOn ? scenario.during(ctx, op) : Promise.resolve();
      let [result] = await Promise.all([waiting.catch((err: unknown) => err), chaos]);
      const ms = Date.now() - begin;
      if (result === null) {
        // Not ended in time: it was cancelled; a cancelled operation must still end and say what remains.
        outcome.problems.push(
          `${step.label}: ${ticket.operation} did not end within ${options.operationTimeoutMs} ms`,
        );
        result = await waitResilient(stack, deployments, ticket, Date.now() + 120_000).catch(
          (err: unknown) => err,
        );
      }

      // Everything is up again; settle extras and the entity before looking at the cloud.
      for (const t of extra) {
        await waitResilient(stack, deployments, t, Date.now() + options.operationTimeoutMs).catch(() => null);
      }
      const o = await recordOperation(deployments, step.label, ticket, result, ms, chaosOn);
      outcome.operations.push(o);
      say(
        `    ${step.label}${chaosOn ? '' : ' (no chaos)'}: ${o.status} in ${o.ms} ms${o.failure ? ` (${o.failure})` : ''}`,
      );
      // Converged, or it says why (a failure, or the cancel) and what remains.
      const explained = o.status === 'cancelled' || o.failure !== null;
      if (o.status !== 'converged' && !(explained && o.remaining > 0)) {
        outcome.problems.push(`${step.label}: ${o.status} without a reason and remaining steps`);
      }
      if (result === null || result instanceof Error) continue;
      const r = result as OperationResult;
      await addInvariants(
        stack,
        outcome,
        deployment,
        r,
        o.status === 'converged' ? step.manifest : null,
        w,
        sinceSeq,
      );
      await checkNoInterleaving(stack, outcome, deployment, ticket, sinceSeq, step.label);
    }

    // The follow-up: the last manifest once more, with nothing broken, must converge.
    const finalManifest = w.steps[w.steps.length - 1]?.manifest ?? w.baseline;
    const sinceSeq = await lastEventSeq(stack.cloud);
    const t1 = Date.now();
    const follow = await deployAndWait(
      stack,
      deployments,
      deployment,
      w,
      finalManifest,
      options,
      'follow-up',
    );
    outcome.followUp = {
      label: 'follow-up',
      operation: follow.operation,
      status: follow.status,
      chaos: false,
      ms: Date.now() - t1,
      failure: follow.failure?.message ?? null,
      remaining: follow.remaining.length,
    };
    await addInvariants(stack, outcome, deployment, follow, finalManifest, w, sinceSeq);
  } catch (err) {
    outcome.problems.push(`run aborted: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    // Whatever happened, the next run starts from a healthy stack.
    await heal(stack, outcome).catch((err: unknown) =>
      outcome.problems.push(`could not heal the stack: ${String(err)}`),
    );
  }
  return outcome;
}

async function deployAndWait(
  stack: ChaosStack,
  deployments: Deployments,
  name: string,
  w: Workload,
  manifest: Manifest,
  options: ChaosOptions,
  label: string,
): Promise<OperationResult> {
  // Transient failures (a server just restarted) are retried; a refusal (UserError) is not.
  const ticket = await retryFor(
    30_000,
    () => deployments.deploy(name, { manifest, cloudConfig: w.cloudConfig }),
    (err) => !(err instanceof UserError),
  );
  const result = await waitResilient(stack, deployments, ticket, Date.now() + options.operationTimeoutMs);
  if (!result)
    throw new Error(
      `${label} deploy ${ticket.operation} did not end within ${options.operationTimeoutMs} ms`,
    );
  return result;
}

/**
 * `Deployments.wait`, again after transient errors (Temporal restarting): the operation's result, or
 * null when `deadline` passes first (the operation is then cancelled, and given a minute to end).
 */
async function waitResilient(
  stack: ChaosStack,
  deployments: Deployments,
  ticket: OperationTicket,
  deadline: number,
): Promise<OperationResult | null> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      await deployments.cancel(ticket.deployment).catch(() => undefined);
      return null;
    }
    const abort = new AbortController();
    try {
      const result = await withTimeout(
        stack.abortable(abort.signal, () => deployments.wait(ticket)),
        left,
      );
      if (result === null) continue;
      await untilIdle(deployments, ticket.deployment);
      return result;
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw err;
      await sleep(500);
    } finally {
      abort.abort(); // a wait that timed out must not outlive this loop
    }
  }
}

/** The entity records a finished operation just after its result: wait until it has. */
async function untilIdle(deployments: Deployments, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await deployments.status(name).catch(() => null);
    if (status && status.current === null) return;
    await sleep(200);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function recordOperation(
  deployments: Deployments,
  label: string,
  ticket: OperationTicket,
  result: unknown,
  ms: number,
  chaos: boolean,
): Promise<OperationOutcome> {
  if (result === null || result instanceof Error) {
    const why = result instanceof Error ? result.message : 'did not end in time, nor after a cancel';
    const status = await deployments.status(ticket.deployment).catch(() => null);
    const rec = status?.recent.find((r) => r.operation === ticket.operation);
    return {
      label,
      operation: ticket.operation,
      status: 'timeout',
      chaos,
      ms,
      failure: rec?.failure?.message ?? why,
      remaining: 0,
    };
  }
  const r = result as OperationResult;
  return {
    label,
    operation: ticket.operation,
    status: r.status,
    chaos,
    ms,
    failure: r.failure?.message ?? null,
    remaining: r.remaining.length,
  };
}

async function addInvariants(
  stack: ChaosStack,
  outcome: RunOutcome,
  deployment: string,
  result: OperationResult,
  desired: Manifest | null,
  w: Workload,
  sinceSeq: number,
): Promise<void> {
  const report = await retryFor(30_000, () =>
    checkInvariants({
      cloud: stack.cloud,
      deployment,
      records: result.records,
      sinceSeq,
      // An operation that planned no step (the follow-up of a converged run) writes nothing to judge.
      emptyWindowOk: result.stepsTotal === 0,
      ...(desired ? { desired: { manifest: desired, cloudConfig: w.cloudConfig } } : {}),
    }),
  );
  const t = outcome.invariants;
  t.orphans += report.orphans;
  t.leakedAllocations += report.leakedAllocations;
  t.leakedVolumes += report.leakedVolumes;
  t.duplicates += report.duplicates;
  t.twoStageViolations += report.twoStageViolations;
  if (report.remainingSteps > 0)
    outcome.problems.push(`${result.operation} converged but ${report.remainingSteps} steps remain`);
  for (const v of report.violations) outcome.problems.push(`${result.operation}: ${v}`);
}

/** Operations never interleave: every server created in the window belongs to this operation. */
async function checkNoInterleaving(
  stack: ChaosStack,
  outcome: RunOutcome,
  deployment: string,
  ticket: OperationTicket,
  sinceSeq: number,
  label: string,
): Promise<void> {
  const events = await retryFor(30_000, () => stack.cloud.events(sinceSeq));
  const foreign = events.filter(
    (e) =>
      e.type === 'server.created' &&
      e.tags[TAG.deployment] === deployment &&
      operationNameOf(e.tags[TAG.operation] ?? '') !== ticket.operation,
  );
  for (const e of foreign.slice(0, 3)) {
    outcome.problems.push(
      `${label}: server ${e.subject} created by ${e.tags[TAG.operation] ?? '?'} during ${ticket.operation}`,
    );
  }
}

/** Exactly `count` workers running (extras drained with SIGTERM, missing ones started). */
async function ensureWorkerCount(stack: ChaosStack, count: number): Promise<void> {
  const running = stack.workers.filter((w) => w.running);
  for (const extra of running.slice(count)) await extra.kill('SIGTERM');
  const stopped = stack.workers.filter((w) => !w.running);
  const missing = Math.max(0, count - running.length);
  await Promise.all(stopped.slice(0, missing).map((w) => w.start()));
  if (missing > stopped.length) await stack.addWorkers(missing - stopped.length);
}

async function heal(stack: ChaosStack, outcome: RunOutcome): Promise<void> {
  if (!stack.temporal.running) {
    outcome.notes.push('temporal was down at the end of the run: restarted');
    await stack.temporal.start();
  }
  if (!stack.region.running) {
    outcome.notes.push('region was down at the end of the run: restarted');
    await stack.region.start();
  }
  await stack.setFaults({ error_rate: 0, stuck_build_rate: 0, error_build_rate: 0, latency_ms: 0 });
}

function describeRun(r: RunOutcome): string {
  const i = r.invariants;
  const kills = Object.entries(r.kills)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const lines = [
    `    ${runOk(r) ? 'ok' : 'FAILED'}: kills ${kills || 'none'}; dup ${i.duplicates}, leaked ${i.leakedAllocations}, leaked disks ${i.leakedVolumes}, orphans ${i.orphans}, two-stage ${i.twoStageViolations}; follow-up ${r.followUp?.status ?? 'none'}`,
  ];
  for (const n of r.notes) lines.push(`    note: ${n}`);
  for (const p of r.problems) lines.push(`    PROBLEM: ${p}`);
  return lines.join('\n');
}

export function tabulate(scenarios: readonly ScenarioId[], runs: RunOutcome[]): ScenarioRow[] {
  return scenarios.map((scenario) => {
    const mine = runs.filter((r) => r.scenario === scenario);
    const ops = mine.flatMap((r) => r.operations).filter((o) => o.chaos);
    const converged = ops.filter((o) => o.status === 'converged');
    const kills = { worker: 0, temporal: 0, region: 0 };
    for (const r of mine) for (const k of ['worker', 'temporal', 'region'] as const) kills[k] += r.kills[k];
    const sum = (f: (i: InvariantTotals) => number): number => mine.reduce((s, r) => s + f(r.invariants), 0);
    return {
      scenario,
      runs: mine.length,
      kills:
        Object.entries(kills)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || '0',
      duplicates: sum((i) => i.duplicates),
      leakedAllocations: sum((i) => i.leakedAllocations),
      leakedVolumes: sum((i) => i.leakedVolumes),
      orphans: sum((i) => i.orphans),
      twoStageViolations: sum((i) => i.twoStageViolations),
      converged: `${converged.length}/${ops.length}`,
      medianMs: median(converged.map((o) => o.ms)),
      followUps: `${mine.filter((r) => r.followUp?.status === 'converged').length}/${mine.length}`,
    };
  });
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function markdownTable(rows: ScenarioRow[]): string {
  const head =
    '| scenario | runs | kills | duplicate servers | leaked allocations | leaked disks | orphans | two-stage violations | operations converged | median time to converge | follow-up deploys converged |';
  const sep = '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.runs} | ${r.kills} | ${r.duplicates} | ${r.leakedAllocations} | ${r.leakedVolumes} | ${r.orphans} | ${r.twoStageViolations} | ${r.converged} | ${r.medianMs === null ? '-' : `${(r.medianMs / 1000).toFixed(1)} s`} | ${r.followUps} |`,
  );
  return [head, sep, ...body].join('\n');
}
