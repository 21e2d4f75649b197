// `npm run bench:planner`: how long the planner takes, and how much heap it needs, to plan a fresh
// deployment and a full replacement (every VM of every group gets a new stemcell) of 1,000 /
// 10,000 / 50,000 instances. Figures go in the issue note; nothing here is asserted.
// `benchPlanner()` is exported for the combined `npm run bench`.
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TAG, type Observed } from '../src/domain/cloud';
import { cloudConfigSchema, type CloudConfig } from '../src/domain/cloud-config';
import type { InstanceRecord } from '../src/domain/instance';
import { manifestSchema, type Manifest } from '../src/domain/manifest';
import { embodiment, patent, placementsFor, reconcile } from '../src/planner/index';
import type { Obligation } from '../src/planner/types';

export interface PlannerBenchRow {
  scenario: 'fresh' | 'replace-all';
  instances: number;
  steps: number;
  /** Median over the runs of patent + embodiment + reconcile, in ms (wall clock). */
  medianMs: number;
  /** Median CPU time (user + system, GC threads included) of the same runs, in ms. */
  cpuMs: number;
  minMs: number;
  /** The most heap the planning held above the heap before it started, in MB (sampled per phase). */
  heapPeakMb: number;
  rssMb: number;
}

const GROUPS = 10;

const cloudConfig: CloudConfig = cloudConfigSchema.parse({
  azs: [
    { name: 'z1', cloud_properties: { zone: 'a' } },
    { name: 'z2', cloud_properties: { zone: 'b' } },
    { name: 'z3', cloud_properties: { zone: 'c' } },
  ],
  vm_sizes: {
    small: { cpus: 2, memory_mb: 2048, disk_gb: 15 },
    medium: { cpus: 4, memory_mb: 4096, disk_gb: 30 },
  },
  vm_types: [
    { name: 'small', size: 'small' },
    { name: 'medium', size: 'medium' },
  ],
  networks: [
    { name: 'default', subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1', azs: ['z1', 'z2', 'z3'] }] },
  ],
});

/** N instances over ten groups; every other group has a persistent disk (so replacements move disks). */
function manifestOf(instances: number, version: string): Manifest {
  const per = Math.floor(instances / GROUPS);
  return manifestSchema.parse({
    name: 'bench',
    resource_pool: 'bench',
    stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version }],
    update: { canaries: 1, max_in_flight: '10%', vm_strategy: 'hot_swap' },
    instance_groups: Array.from({ length: GROUPS }, (_, g) => ({
      name: `g${g}`,
      instances: g === GROUPS - 1 ? instances - per * (GROUPS - 1) : per,
      azs: ['z1', 'z2', 'z3'],
      vm_type: g % 3 === 0 ? 'medium' : 'small',
      stemcell: 'default',
      networks: [{ name: 'default' }],
      ...(g % 2 === 0 ? { persistent_disk: 10 } : {}),
    })),
  });
}

function plan(m: Manifest, observed: Observed, records: InstanceRecord[], seq: number): Obligation {
  const p = patent(m, cloudConfig, placementsFor(m, records), { defaultStrategy: 'hot_swap' });
  return reconcile(p, embodiment(m.name, observed, records), {
    defaultStrategy: 'hot_swap',
    operationSeq: seq,
    operationId: `op-${seq}`,
  });
}

/** What the cloud holds once a fresh obligation is enacted (built directly: the test simulator is O(n²)). */
function enactedFresh(o: Obligation): Observed {
  const observed: Observed = { servers: [], allocations: [], volumes: [] };
  const byCreate = new Map<string, number>();
  let n = 0;
  for (const step of o.steps) {
    if (step.kind === 'create-vm') {
      n++;
      const allocation = `a-${n}`;
      observed.allocations.push({
        id: allocation,
        pool: step.pool,
        key: step.id,
        ...step.quota,
        tags: { [TAG.deployment]: 'bench' },
      });
      byCreate.set(step.id, observed.servers.length);
      observed.servers.push({
        id: `s-${n}`,
        name: step.spec.name,
        state: 'ACTIVE',
        power: 'running',
        health: 'healthy',
        addresses: [{ network: step.spec.network, ip: `10.0.${n >> 8}.${n & 255}`, mac: '' }],
        az: step.spec.az,
        image: step.spec.image,
        cpus: step.spec.cpus,
        memory_mb: step.spec.memory_mb,
        disk_gb: step.spec.disk_gb,
        tags: { ...step.spec.tags, [TAG.allocation]: allocation },
        created_at: '2030-01-01T00:00:00.000Z',
      });
    } else if (step.kind === 'associate-vm-to-instance') {
      const server = observed.servers[byCreate.get(step.createStep ?? '') ?? -1];
      if (!server) throw new Error(`bench: no server for ${step.createStep}`);
      server.tags[TAG.instance] = step.instanceId;
      if (step.disk) {
        observed.volumes.push({
          id: `v-${server.id}`,
          pool: 'p',
          size_gb: step.disk.size_gb,
          server_id: server.id,
          tags: { [TAG.deployment]: 'bench', [TAG.instance]: step.instanceId },
        });
      }
    }
  }
  return observed;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? () => void (gc as () => void)() : () => {};
}

function measure(
  run: (sample: () => void) => Obligation,
  runs: number,
  gc: () => void,
): { times: number[]; cpu: number[]; heapPeak: number; steps: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  let heapPeak = 0;
  let steps = 0;
  for (let i = 0; i < runs; i++) {
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().heapUsed - base));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const o = run(sample);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    sample();
    heapPeak = Math.max(heapPeak, peak);
    steps = o.steps.length;
  }
  return { times, cpu, heapPeak, steps };
}

export function benchPlanner(options: { sizes?: number[]; runs?: number } = {}): PlannerBenchRow[] {
  const sizes = options.sizes ?? [1_000, 10_000, 50_000];
  const runs = options.runs ?? 5;
  const gc = exposeGc();
  const rows: PlannerBenchRow[] = [];
  for (const n of sizes) {
    const old = manifestOf(n, '1.181');
    const next = manifestOf(n, '1.182');
    const empty: Observed = { servers: [], allocations: [], volumes: [] };
    plan(old, empty, [], 1); // warm-up (JIT) before timing

    const fresh = measure(
      (sample) => {
        const p = patent(old, cloudConfig, [], { defaultStrategy: 'hot_swap' });
        sample();
        const e = embodiment('bench', empty, []);
        const o = reconcile(p, e, { defaultStrategy: 'hot_swap', operationSeq: 1, operationId: 'op-1' });
        sample();
        return o;
      },
      runs,
      gc,
    );
    const freshPlan = plan(old, empty, [], 1);
    const observed = enactedFresh(freshPlan);
    const records = freshPlan.records;
    const replace = measure(
      (sample) => {
        const p = patent(next, cloudConfig, placementsFor(next, records), { defaultStrategy: 'hot_swap' });
        sample();
        const e = embodiment('bench', observed, records);
        sample();
        const o = reconcile(p, e, { defaultStrategy: 'hot_swap', operationSeq: 2, operationId: 'op-2' });
        sample();
        if (o.instances.some((i) => i.action !== 'replace'))
          throw new Error('bench: expected every instance replaced');
        return o;
      },
      runs,
      gc,
    );
    const rss = process.memoryUsage().rss / 2 ** 20;
    for (const [scenario, m] of [
      ['fresh', fresh],
      ['replace-all', replace],
    ] as const) {
      rows.push({
        scenario,
        instances: n,
        steps: m.steps,
        medianMs: median(m.times),
        cpuMs: median(m.cpu),
        minMs: Math.min(...m.times),
        heapPeakMb: m.heapPeak / 2 ** 20,
        rssMb: rss,
      });
    }
  }
  return rows;
}

export function formatPlannerBench(rows: readonly PlannerBenchRow[]): string {
  const head = [
    'scenario',
    'instances',
    'steps',
    'median ms',
    'min ms',
    'cpu ms',
    'µs/instance',
    'heap peak MB',
    'rss MB',
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.instances),
    String(r.steps),
    r.medianMs.toFixed(1),
    r.minMs.toFixed(1),
    r.cpuMs.toFixed(1),
    ((r.medianMs * 1000) / r.instances).toFixed(1),
    r.heapPeakMb.toFixed(1),
    r.rssMb.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * A fixed yardstick for comparing these numbers across machines (and across load on one machine):
 * one million small objects put in a Map. Divide a planner time by it to compare two runs.
 */
export function yardstickMs(): number {
  const t0 = performance.now();
  const m = new Map<string, { id: string; n: number[] }>();
  for (let i = 0; i < 1_000_000; i++) m.set(`k${i}`, { id: `k${i}`, n: [i] });
  return performance.now() - t0;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const rows = benchPlanner(sizes.length > 0 ? { sizes } : {});
  const yard = Math.min(yardstickMs(), yardstickMs(), yardstickMs());
  const load = os.loadavg()[0] ?? 0;
  process.stdout.write(
    `planner: patent + embodiment + reconcile, median of 5 runs (node ${process.version}, ${os.cpus().length} cpus, load ${load.toFixed(1)})\n` +
      `${formatPlannerBench(rows)}\n` +
      `yardstick (1M objects into a Map): ${yard.toFixed(0)} ms on this machine\n`,
  );
}
