// `npm run bench`: the benchmark. Starts its own embedded stack (Temporal dev server, region, a
// worker per scenario) in a temp dir on free ports, runs each scenario, prints a markdown table and
// writes bench/results/<date>.json. A benchmark, not a test: nothing here passes or fails.
//
//   npm run bench                          every scenario (about 10 minutes on 2 cores)
//   npm run bench -- --quick               smaller sizes (about 2 minutes)
//   npm run bench -- --only noop-1000,hotswap   scenarios by name or name prefix
//   npm run bench -- --only ec2-100        EC2 on moto: fresh, no-op, hot_swap, delete of 100 (ec2 = all sizes;
//                                          any ec2-N; --ec2-budget-s S per scenario, default 120 + 1.2 × N)
//   npm run bench -- --only idle-watch     100 idle deployments of 2 watched for 4 min (not in the full run;
//                                          --idle-deployments N, --idle-minutes M, --idle-bound-s S)
//   npm run bench -- --cpu-prof /tmp/prof  V8 CPU profile of each scenario's worker
//   npm run bench -- --out file.json | --no-write | --keep (keep the temp dir with logs)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPlanner, formatPlannerBench, yardstickMs, type PlannerBenchRow } from './bench-planner';
import { DeployHarness, type DeployRow, type DeployScenario } from './bench/harness';
import { actionsTable, fleetLines, limitsTable, markdownTable, timingTable } from './bench/report';
import { startStack } from './bench/stack';
import { ec2Table, runEc2Scenarios, type Ec2Row } from './bench/ec2';
import { idleWatchLines, runIdleWatch, type IdleWatchRow } from './bench/idle-watch';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BenchPlan {
  plannerSizes: number[];
  deploy: DeployScenario[];
  /** EC2 on moto (scripts/bench/ec2.ts): fresh, no-op, hot_swap and delete of each size. */
  ec2Sizes: number[];
  /** Idle deployments watched (scripts/bench/idle-watch.ts): only by name, not in the full run. */
  idleWatch?: boolean;
}

/**
 * The next scale bar: not in the full run (10,000 instances take many minutes on 2 cores), only by
 * exact name, or all four 10,000 scenarios as `10k`, or `scale` for all of them.
 */
export const SCALE_SCENARIOS: readonly DeployScenario[] = [
  ...(['fresh', 'noop', 'hotswap', 'delete'] as const).map((kind) => ({
    name: `${kind}-10000`,
    kind,
    instances: 10_000,
  })),
  // 20 deployments of 250 hot-swapped at once on one worker, against one hotswap-5000.
  { name: 'fleet-20x250', kind: 'hotswap', instances: 250, deployments: 20 },
];

export function fullPlan(quick: boolean): BenchPlan {
  const s = (kind: DeployScenario['kind'], instances: number): DeployScenario => ({
    name: `${kind}-${instances}`,
    kind,
    instances,
  });
  if (quick) {
    return {
      plannerSizes: [1_000, 10_000],
      deploy: [
        s('fresh', 100),
        s('fresh', 500),
        s('noop', 175),
        s('noop', 500),
        s('hotswap', 200),
        s('delete', 200),
      ],
      ec2Sizes: [100],
    };
  }
  return {
    plannerSizes: [1_000, 10_000, 50_000],
    deploy: [
      s('fresh', 100),
      s('fresh', 1_000),
      s('fresh', 5_000),
      s('noop', 175),
      s('noop', 1_000),
      s('noop', 5_000),
      s('hotswap', 1_000),
      s('delete', 1_000),
      // delete before hot_swap at 5,000: the hot_swap then starts from a fresh deploy of its own,
      // and a failed hot_swap cannot hide the delete's figures.
      s('delete', 5_000),
      s('hotswap', 5_000),
    ],
    ec2Sizes: [100, 1_000],
  };
}

/** `--only a,b`: names or prefixes (`noop` = every no-op scenario, `planner` = the planner). */
export function selectPlan(plan: BenchPlan, only: string | undefined): BenchPlan {
  if (!only) return plan;
  const wanted = only
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const picks = (name: string): boolean => wanted.some((w) => name === w || name.startsWith(`${w}-`));
  const plannerSizes = plan.plannerSizes.filter((n) => picks(`planner-${n / 1000}k`));
  const scale = SCALE_SCENARIOS.filter(
    (s) =>
      wanted.includes(s.name) ||
      wanted.includes('scale') ||
      (wanted.includes('10k') && s.instances === 10_000) ||
      (wanted.includes('fleet') && (s.deployments ?? 1) > 1),
  );
  const deploy = [...plan.deploy.filter((s) => picks(s.name)), ...scale];
  // `ec2-N` for any N: the growth curve between the plan's sizes (e.g. ec2-200, ec2-400).
  const ec2Asked = wanted.flatMap((w) => (/^ec2-[1-9]\d*$/.test(w) ? [Number(w.slice(4))] : []));
  // Smallest first: a size that does not finish in its budget stops the larger ones.
  const ec2Sizes = [...new Set([...plan.ec2Sizes.filter((n) => picks(`ec2-${n}`)), ...ec2Asked])].sort(
    (a, b) => a - b,
  );
  const idleWatch = wanted.includes('idle-watch');
  if (plannerSizes.length === 0 && deploy.length === 0 && ec2Sizes.length === 0 && !idleWatch) {
    const names = [
      'planner',
      ...plan.plannerSizes.map((n) => `planner-${n / 1000}k`),
      ...plan.deploy.map((s) => s.name),
      'ec2',
      ...plan.ec2Sizes.map((n) => `ec2-${n}`),
      ...SCALE_SCENARIOS.map((s) => s.name),
      '10k',
      'scale',
      'idle-watch',
    ];
    throw new Error(`--only ${only}: no such scenario; known: ${names.join(', ')}`);
  }
  return { plannerSizes, deploy, ec2Sizes, idleWatch };
}

async function runIdle(
  plan: BenchPlan,
  options: { deployments: number; minutes: number; boundS: number; say: (line: string) => void },
): Promise<IdleWatchRow | null> {
  if (!plan.idleWatch) return null;
  const stack = await startStack({ say: options.say });
  try {
    return await runIdleWatch(stack, {
      deployments: options.deployments,
      instances: 2,
      windowMs: options.minutes * 60_000,
      boundMs: options.boundS * 1000,
      say: options.say,
    });
  } finally {
    await stack.stop();
  }
}

async function runEc2(
  sizes: readonly number[],
  options: { say: (line: string) => void; budgetMs?: number },
): Promise<Ec2Row[]> {
  if (sizes.length === 0) return [];
  const stack = await startStack({ say: options.say });
  try {
    return await runEc2Scenarios(stack, sizes, options);
  } finally {
    await stack.stop();
  }
}

export async function runDeployScenarios(
  scenarios: readonly DeployScenario[],
  options: { say: (line: string) => void; cpuProfDir?: string; keepDir?: boolean },
): Promise<DeployRow[]> {
  if (scenarios.length === 0) return [];
  const stack = await startStack({ say: options.say, ...(options.keepDir ? { keepDir: true } : {}) });
  const stop = (): void => void stack.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    const harness = await DeployHarness.create(stack, {
      say: options.say,
      ...(options.cpuProfDir ? { cpuProfDir: options.cpuProfDir } : {}),
    });
    const rows: DeployRow[] = [];
    try {
      for (const s of scenarios) {
        options.say(`${s.name}: running`);
        const row = {
          ...(await harness.run(s)),
          loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
        };
        options.say(
          `${s.name}: ${row.status}${row.wallMs !== null ? ` in ${(row.wallMs / 1000).toFixed(2)} s` : ''}` +
            (row.idealMs ? ` (ideal ${(row.idealMs / 1000).toFixed(1)} s)` : '') +
            (row.workerPeakRssMb !== null ? `, worker peak ${row.workerPeakRssMb.toFixed(0)} MB` : '') +
            (row.actionsPerInstance !== null
              ? `, ${row.actionsPerInstance.toFixed(2)} actions/instance`
              : '') +
            (row.fleet ? `, slowest deployment ${(row.fleet.slowestMs / 1000).toFixed(2)} s` : '') +
            ` (load ${row.loadavg.join(' ')})`,
        );
        if (row.failure) options.say(`  ${row.failure.split('\n').slice(0, 6).join('\n  ')}`);
        rows.push(row);
      }
    } finally {
      await harness.dispose();
    }
    return rows;
  } finally {
    process.off('SIGINT', stop);
    if (options.keepDir) options.say(`kept ${stack.dir}`);
    await stack.stop();
  }
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${os.platform()} ${os.release()}`,
  };
}

function positive(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${flag}: expected a positive number, got '${text ?? ''}'`);
  return n;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'idle-deployments': { type: 'string', default: '100' },
      'idle-minutes': { type: 'string', default: '4' },
      'idle-bound-s': { type: 'string', default: '60' },
      'ec2-budget-s': { type: 'string' },
    },
  });
  const plan = selectPlan(fullPlan(values.quick), values.only);
  const say = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const startedAt = new Date();
  const loadAtStart = machine().loadavg;
  say(`load average ${JSON.stringify(loadAtStart)} on ${os.cpus().length} cores`);

  let planner: PlannerBenchRow[] = [];
  if (plan.plannerSizes.length > 0) {
    say(`planner: ${plan.plannerSizes.join(', ')} instances`);
    planner = benchPlanner({ sizes: plan.plannerSizes });
  }
  const deploy = await runDeployScenarios(plan.deploy, {
    say,
    ...(values['cpu-prof'] ? { cpuProfDir: values['cpu-prof'] } : {}),
    keepDir: values.keep,
  });
  const ec2BudgetS = values['ec2-budget-s'];
  const ec2 = await runEc2(plan.ec2Sizes, {
    say,
    ...(ec2BudgetS === undefined ? {} : { budgetMs: positive(ec2BudgetS, '--ec2-budget-s') * 1000 }),
  });
  const idle = await runIdle(plan, {
    deployments: positive(values['idle-deployments'], '--idle-deployments'),
    minutes: positive(values['idle-minutes'], '--idle-minutes'),
    boundS: positive(values['idle-bound-s'], '--idle-bound-s'),
    say,
  });
  const yardstick = Math.min(yardstickMs(), yardstickMs(), yardstickMs());

  const table = markdownTable(planner, deploy);
  process.stdout.write(`\n${table}\n`);
  if (deploy.length > 0) {
    process.stdout.write(`\nTemporal Cloud Actions per instance, by kind:\n\n${actionsTable(deploy)}\n`);
    const fleets = fleetLines(deploy);
    if (fleets) process.stdout.write(`\n${fleets}\n`);
    process.stdout.write(`\nTemporal limits per operation run:\n\n${limitsTable(deploy)}\n`);
    process.stdout.write(`\nWhere the time went (per activity):\n\n${timingTable(deploy)}\n`);
  }
  if (ec2.length > 0)
    process.stdout.write(`\nEC2 on moto (default rate 20/s, burst 100):\n\n${ec2Table(ec2)}\n`);
  if (idle) process.stdout.write(`\nIdle watch (scripts/bench/idle-watch.ts):\n\n${idleWatchLines(idle)}\n`);
  if (planner.length > 0) process.stdout.write(`\nplanner detail:\n\n${formatPlannerBench(planner)}\n`);
  const load = machine().loadavg;
  process.stdout.write(
    `\nyardstick (1M objects into a Map): ${yardstick.toFixed(0)} ms; load average at the end ${JSON.stringify(load)} (at the start ${JSON.stringify(loadAtStart)})\n`,
  );

  if (!values['no-write']) {
    const date = startedAt.toISOString().slice(0, 10);
    const partial = values.quick || values.only !== undefined;
    const out = values.out ?? join(ROOT, 'bench', 'results', `${date}${partial ? '-partial' : ''}.json`);
    mkdirSync(join(out, '..'), { recursive: true });
    const doc = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      commit: gitCommit(),
      machine: machine(),
      loadavgAtStart: loadAtStart,
      yardstickMs: Math.round(yardstick),
      options: { quick: values.quick, only: values.only ?? null },
      table,
      planner,
      deploy,
      ec2,
      idleWatch: idle,
    };
    writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
    say(`wrote ${out}`);
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
