// The six chaos scenarios of issue 5. Each one says how many workers it wants and what it does while
// one operation runs (`during`); the runner (run.ts) deploys, waits, and checks DESIGN §9 around it.
// Every decision comes from the run's seeded Rng; every process it kills is running again when
// `during` returns.
import { UserError } from '../../src/domain/errors';
import type { OperationTicket } from '../../src/workflows/types';
import type { Rng } from './prng';
import { sleep } from './processes';
import type { ChaosStack } from './stack';

export type ScenarioId =
  'worker-kill' | 'temporal-kill' | 'region-kill' | 'region-faults' | 'two-workers' | 'concurrent-deploys';

export const SCENARIO_IDS: readonly ScenarioId[] = [
  'worker-kill',
  'temporal-kill',
  'region-kill',
  'region-faults',
  'two-workers',
  'concurrent-deploys',
];

export type ProcessKind = 'worker' | 'temporal' | 'region';

/** One operation as the scenario sees it. */
export interface RunningOperation {
  startedAt: number;
  isDone(): boolean;
  /** Resolves when the operation has ended (however it ended). */
  ended: Promise<void>;
}

export interface ScenarioContext {
  stack: ChaosStack;
  rng: Rng;
  /** "A random moment": a delay drawn from this range (ms), fixed per mode so a seed names it. */
  momentMs: readonly [number, number];
  /** Worker kills per operation in the worker-kill scenario. */
  killsPerOperation: number;
  kill(kind: ProcessKind): void;
  /** Deploys this step's manifest through the CLI's client path (may be refused: busy). */
  deploy(): Promise<OperationTicket>;
  /** An extra operation the runner must wait for before the next step. */
  track(ticket: OperationTicket): void;
  /** A violation of the design (fails the run). */
  problem(line: string): void;
  /** Something worth reporting that is not a violation. */
  note(line: string): void;
  say(line: string): void;
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  workers: number;
  /** Starts the operation; by default one deploy. */
  launch?(ctx: ScenarioContext): Promise<OperationTicket>;
  during(ctx: ScenarioContext, op: RunningOperation): Promise<void>;
}

/** Waits `ms` or until the operation ends; true when it ended first. */
async function waitOrEnd(op: RunningOperation, ms: number): Promise<boolean> {
  if (op.isDone()) return true;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    op.ended.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return ended || op.isDone();
}

/** A random moment (from the operation's start, or from the previous restart). */
const moment = (ctx: ScenarioContext): number => ctx.rng.int(ctx.momentMs[0], ctx.momentMs[1]);

/**
 * After Temporal comes back: every worker must be polling again. A worker that died, or that is alive
 * but not polling within 30 s, is restarted, and the note says so (the report shows it).
 */
async function ensureWorkersPoll(ctx: ScenarioContext): Promise<void> {
  for (const worker of ctx.stack.workers) {
    if (!worker.running) {
      if (worker.starts === 0) continue;
      ctx.note(`${worker.spec.name} exited while Temporal was down: restarted (${worker.tail(1)})`);
      await worker.start();
      continue;
    }
    const deadline = Date.now() + 30_000;
    let polls = false;
    while (!polls && Date.now() < deadline) {
      polls = await ctx.stack.workerPolls(worker);
      if (!polls) await sleep(500);
    }
    if (!polls) {
      ctx.note(`${worker.spec.name} did not poll again within 30 s of the Temporal restart: restarted`);
      await worker.kill('SIGKILL');
      await worker.start();
    }
  }
}

const workerKill: Scenario = {
  id: 'worker-kill',
  title: 'SIGKILL the worker, restart 0-3 s later',
  workers: 1,
  async during(ctx, op) {
    const worker = ctx.stack.workers[0];
    if (!worker) throw new Error('worker-kill needs a worker');
    for (let k = 0; k < ctx.killsPerOperation; k++) {
      if (await waitOrEnd(op, moment(ctx))) return;
      await worker.kill('SIGKILL');
      ctx.kill('worker');
      const down = ctx.rng.int(0, 3_000);
      ctx.say(`    SIGKILL worker at +${Date.now() - op.startedAt} ms, restart in ${down} ms`);
      await sleep(down);
      await worker.start();
    }
  },
};

const temporalKill: Scenario = {
  id: 'temporal-kill',
  title: 'SIGKILL the Temporal dev server, restart on the same db file',
  workers: 1,
  async during(ctx, op) {
    if (await waitOrEnd(op, moment(ctx))) return;
    await ctx.stack.temporal.kill('SIGKILL');
    ctx.kill('temporal');
    const down = ctx.rng.int(0, 3_000);
    ctx.say(`    SIGKILL temporal at +${Date.now() - op.startedAt} ms, restart in ${down} ms`);
    await sleep(down);
    await ctx.stack.temporal.start();
    await ensureWorkersPoll(ctx);
  },
};

const regionKill: Scenario = {
  id: 'region-kill',
  title: 'SIGKILL the region, restart on the same db file',
  workers: 1,
  async during(ctx, op) {
    if (await waitOrEnd(op, moment(ctx))) return;
    await ctx.stack.region.kill('SIGKILL');
    ctx.kill('region');
    const down = ctx.rng.int(0, 3_000);
    ctx.say(`    SIGKILL region at +${Date.now() - op.startedAt} ms, restart in ${down} ms`);
    await sleep(down);
    await ctx.stack.region.start();
  },
};

/** Faults of issue 5 for the whole operation; latency re-drawn every 0.2-1 s (jitter). */
export const CHAOS_FAULTS = { error_rate: 0.3, stuck_build_rate: 0.1, error_build_rate: 0.1 } as const;
export const MAX_JITTER_MS = 250;

const regionFaults: Scenario = {
  id: 'region-faults',
  title: 'error_rate 0.3, latency jitter, stuck_build_rate 0.1, error_build_rate 0.1',
  workers: 1,
  async during(ctx, op) {
    try {
      await ctx.stack.setFaults({ ...CHAOS_FAULTS, latency_ms: ctx.rng.int(0, MAX_JITTER_MS) });
      while (!(await waitOrEnd(op, ctx.rng.int(200, 1_000)))) {
        await ctx.stack.setFaults({ latency_ms: ctx.rng.int(0, MAX_JITTER_MS) });
      }
    } finally {
      await ctx.stack.setFaults({ error_rate: 0, stuck_build_rate: 0, error_build_rate: 0, latency_ms: 0 });
    }
  },
};

const twoWorkers: Scenario = {
  id: 'two-workers',
  title: 'two workers, one SIGKILLed mid-operation (restarted after it)',
  workers: 2,
  async during(ctx, op) {
    if (await waitOrEnd(op, moment(ctx))) return;
    const victim = ctx.rng.pick(ctx.stack.workers.filter((w) => w.running));
    await victim.kill('SIGKILL');
    ctx.kill('worker');
    ctx.say(`    SIGKILL ${victim.spec.name} at +${Date.now() - op.startedAt} ms; the other finishes alone`);
    await op.ended;
    await victim.start();
  },
};

/** What the entity answers a second operation while one runs (src/workflows/README.md). */
export const BUSY = /is busy: operation op-\d+ \(\w+\) is running; deploy was not started/;

function expectBusy(ctx: ScenarioContext, reason: unknown): void {
  const message = reason instanceof Error ? reason.message : String(reason);
  if (!(reason instanceof UserError) || !BUSY.test(message)) {
    ctx.problem(`a refused concurrent deploy did not say "busy": ${message}`);
  }
}

const concurrentDeploys: Scenario = {
  id: 'concurrent-deploys',
  title: 'two deploys of one deployment started together: one runs, the other is refused (busy)',
  workers: 1,
  async launch(ctx) {
    const settled = await Promise.allSettled([ctx.deploy(), ctx.deploy()]);
    const accepted: OperationTicket[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled') accepted.push(s.value);
      else expectBusy(ctx, s.reason);
    }
    const [first, ...more] = accepted;
    if (!first) throw new Error('both concurrent deploys were refused');
    if (more.length > 0) {
      ctx.problem(
        `two concurrent deploys were both accepted: ${accepted.map((t) => t.operation).join(', ')}`,
      );
      for (const t of more) ctx.track(t);
    }
    return first;
  },
  async during(ctx, op) {
    // Once more in the middle of the operation: still refused, still nothing written.
    if (await waitOrEnd(op, moment(ctx))) return;
    try {
      const ticket = await ctx.deploy();
      if (op.isDone()) {
        ctx.note(`mid-flight deploy came after the operation ended: accepted as ${ticket.operation}`);
      } else {
        ctx.problem(`a deploy while ${ticket.deployment} was busy was accepted as ${ticket.operation}`);
      }
      ctx.track(ticket);
    } catch (err) {
      expectBusy(ctx, err);
    }
  },
};

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  'worker-kill': workerKill,
  'temporal-kill': temporalKill,
  'region-kill': regionKill,
  'region-faults': regionFaults,
  'two-workers': twoWorkers,
  'concurrent-deploys': concurrentDeploys,
};
