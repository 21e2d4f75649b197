// `npm run record-histories -- --label <name> [--note "..."] [--scenario a,b] [--out DIR]`
//
// Records the histories of representative executions into test/replay/histories/<date>-<label>/,
// for test/replay/replay.test.ts to replay against every later version of the workflow code. It
// starts everything it needs and stops it again: a Temporal dev server (in memory, free port), a
// region process and a Converge worker with the real workflows and activities, in this process.
//
// Record BEFORE changing workflow code (CONTRIBUTING.md): the new recording is the proof that the
// change replays what running executions have already written. Recordings are never rewritten.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { dataConverter } from '../src/temporal/data-converter';
import { Deployments } from '../src/client/deployments';
import { newIdentity, type Identity } from '../src/client/identity';
import type { Manifest } from '../src/domain/manifest';
import { bundleWorkflows } from '../src/workers/bundle';
import { resolveTemporalCli } from '../src/temporal/dev-server';
import { searchAttributeArgs } from '../src/temporal/search-attributes';
import { createConvergeWorker } from '../src/workers/worker';
import type { OperationLimits, OperationResult, OperationTicket } from '../src/workflows/types';
import { cloudConfig, smallManifest } from '../test/support/fixtures';
import { startRegion, type RegionHandle } from '../test/support/region';
import {
  HISTORIES_DIR,
  historyBytes,
  historyFromJson,
  historyToJson,
  type CatalogEntry,
  type Recording,
} from '../test/replay/catalog';
import { untilEnacting } from '../test/support/progress';
import { serverRequest } from '../test/region/helpers';

const TASK_QUEUE = 'record-histories';

interface Context {
  region: RegionHandle;
  /**
   * Deployments on the recording's task queue; `limits` apply to entities created through it. With an
   * identity, requests are signed (the recording's worker has no trust root, but the entity keeps the
   * nonces of signed requests all the same).
   */
  deployments: (limits?: Partial<OperationLimits>, identity?: Identity) => Deployments;
}

interface Scenario {
  name: string;
  /** What the entity's history protects, and each operation's (by operation sequence number). */
  protects: { entity: string; ops: Record<number, string> };
  run(ctx: Context): Promise<void>;
}

const cc = cloudConfig();
const bump = (name: string, change: (m: Manifest) => void = () => undefined): Manifest =>
  smallManifest(name, (m) => {
    const stemcell = m.stemcells[0];
    if (stemcell) stemcell.version = '1.182';
    change(m);
  });

async function converged(
  d: Deployments,
  ticket: Promise<OperationTicket>,
  want = 'converged',
): Promise<OperationResult> {
  const result = await d.wait(await ticket);
  if (result.status !== want) {
    throw new Error(
      `${result.operation} of ${result.deployment}: ${result.status}, expected ${want} (${JSON.stringify(result.failure)})`,
    );
  }
  return result;
}

/** Waits until the deployment has no operation running or pending. */
async function idle(d: Deployments, name: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if ((await d.status(name)).current === null) return;
    await sleep(100);
  }
  throw new Error(`${name} never became idle`);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'fresh-deploy',
    protects: {
      entity: 'update-with-start of the entity, one operation child, its result recorded',
      ops: { 1: 'a fresh deploy: observe, quota check, create + associate every VM, verify' },
    },
    run: async ({ deployments }) => {
      const d = deployments();
      await converged(
        d,
        d.deploy('fresh-deploy', { manifest: smallManifest('fresh-deploy'), cloudConfig: cc }),
      );
    },
  },
  {
    name: 'hot-swap',
    protects: {
      entity: 'two deploys in sequence on one entity',
      ops: { 2: 'hot_swap stemcell bump: the new VM is ACTIVE before the old one is deleted two-stage' },
    },
    run: async ({ deployments }) => {
      const d = deployments();
      await converged(d, d.deploy('hot-swap', { manifest: smallManifest('hot-swap'), cloudConfig: cc }));
      await converged(d, d.deploy('hot-swap', { manifest: bump('hot-swap'), cloudConfig: cc }));
    },
  },
  {
    name: 'delete-create',
    protects: {
      entity: 'two deploys in sequence on one entity',
      ops: { 2: 'delete_create stemcell bump: the old VM is gone and its quota released before the new one' },
    },
    run: async ({ deployments }) => {
      const d = deployments();
      const strategy = (m: Manifest): void => {
        m.update.vm_strategy = 'delete_create';
      };
      await converged(
        d,
        d.deploy('delete-create', { manifest: smallManifest('delete-create', strategy), cloudConfig: cc }),
      );
      await converged(
        d,
        d.deploy('delete-create', { manifest: bump('delete-create', strategy), cloudConfig: cc }),
      );
    },
  },
  {
    name: 'cancel',
    protects: {
      entity: 'the cancel signal forwarded to the running operation',
      ops: { 1: 'cancel mid-deploy: in-flight steps finish, none start, cleanup runs non-cancellable' },
    },
    run: async ({ deployments, region }) => {
      const d = deployments();
      const m = smallManifest('cancel', (x) => {
        const g = x.instance_groups[0];
        if (g) g.instances = 6;
        x.update.max_in_flight = 1;
      });
      await region.client.setFaults({ build_ms: 1500 });
      try {
        const ticket = await d.deploy('cancel', { manifest: m, cloudConfig: cc });
        await untilEnacting(d, ticket);
        await d.cancel('cancel');
        await converged(d, Promise.resolve(ticket), 'cancelled');
      } finally {
        await region.client.setFaults({ build_ms: 30 });
      }
    },
  },
  {
    name: 'hard-stop',
    protects: {
      entity: 'the hardStop signal: cancel the running operation, then start a stop --hard operation',
      ops: {
        2: 'a hot_swap deploy cancelled by hardStop',
        3: 'stop --hard: every VM deleted two-stage, instances detached, disks kept',
      },
    },
    run: async ({ deployments, region }) => {
      const d = deployments();
      await converged(d, d.deploy('hard-stop', { manifest: smallManifest('hard-stop'), cloudConfig: cc }));
      await region.client.setFaults({ build_ms: 1500 });
      try {
        const ticket = await d.deploy('hard-stop', {
          manifest: bump('hard-stop', (m) => {
            m.update.max_in_flight = 1;
          }),
          cloudConfig: cc,
        });
        await untilEnacting(d, ticket);
        await d.hardStop('hard-stop');
        await converged(d, Promise.resolve(ticket), 'cancelled');
      } finally {
        await region.client.setFaults({ build_ms: 30 });
      }
      await idle(d, 'hard-stop');
    },
  },
  {
    name: 'delete',
    protects: {
      entity: 'delete: the entity completes once its delete operation converged',
      ops: { 2: 'delete: every VM deleted, each allocation released only after its server is gone' },
    },
    run: async ({ deployments }) => {
      const d = deployments();
      await converged(d, d.deploy('delete', { manifest: smallManifest('delete'), cloudConfig: cc }));
      await converged(d, d.delete('delete'));
    },
  },
  {
    name: 'linger-after-delete',
    protects: {
      entity:
        "linger-after-delete: a deleted entity holding signed requests' nonces lingers (a timer); a deploy meanwhile begins the next incarnation in the run",
      ops: {
        1: 'a deploy (first incarnation, then the next one, in the same entity run)',
        2: 'delete of the first incarnation',
      },
    },
    run: async ({ deployments }) => {
      const d = deployments({}, newIdentity('recorder'));
      const req = { manifest: smallManifest('linger-after-delete'), cloudConfig: cc };
      await converged(d, d.deploy('linger-after-delete', req));
      await converged(d, d.delete('linger-after-delete'));
      await converged(d, d.deploy('linger-after-delete', req));
      await idle(d, 'linger-after-delete');
    },
  },
  {
    name: 'continue-as-new',
    protects: {
      entity: 'an entity whose operations continue as new',
      ops: {
        1: 'continue-as-new of a fresh deploy: drain in-flight steps, carry observed, done and results',
        2: 'continue-as-new of a hot_swap bump',
      },
    },
    run: async ({ deployments }) => {
      const d = deployments({ historyThreshold: 40 });
      await converged(
        d,
        d.deploy('continue-as-new', { manifest: smallManifest('continue-as-new'), cloudConfig: cc }),
      );
      await converged(d, d.deploy('continue-as-new', { manifest: bump('continue-as-new'), cloudConfig: cc }));
    },
  },
  {
    name: 'lifecycle',
    protects: {
      entity: 'every update kind in turn: deploy, dry run, instance action, stop, start, recreate',
      ops: {
        2: 'a dry-run deploy: planned, nothing enacted',
        3: 'instance action: one reboot step in the obligation, run by the enactor',
        4: 'stop: instances marked stopped, a power-off step each, run by the enactor',
        5: 'start after a soft stop: instances marked started, a power-on step each, run by the enactor',
        6: 'recreate one instance (by <group>/<index>): its VM replaced',
      },
    },
    run: async ({ deployments, region }) => {
      const d = deployments();
      const m = smallManifest('lifecycle');
      await converged(d, d.deploy('lifecycle', { manifest: m, cloudConfig: cc }));
      await converged(
        d,
        d.deploy('lifecycle', { manifest: bump('lifecycle'), cloudConfig: cc, dryRun: true }),
        'planned',
      );
      await converged(d, d.instanceAction('lifecycle', { instance: 'api/0', action: 'reboot' }));
      await converged(d, d.stop('lifecycle', {}));
      await converged(d, d.start('lifecycle'));
      const off = (await region.client.listServers({ 'converge.deployment': 'lifecycle' })).filter(
        (x) => x.power !== 'running',
      );
      if (off.length > 0)
        console.warn(
          `note: after start, ${off.length} VMs are not running (${off.map((x) => x.power).join(', ')})`,
        );
      await converged(d, d.recreate('lifecycle', ['api/0']));
    },
  },
  {
    name: 'watch',
    protects: {
      entity:
        'the watch (patch converge-watch): watch passes, an out-of-band delete seen as instance.missing, ' +
        'a resurrection accepted by the entity, events handed to the callbacks outbox',
      ops: { 2: 'a resurrection: recreate of the missing instance, with its reason' },
    },
    run: async ({ deployments, region }) => {
      const d = deployments({ watchBoundMs: 10_000 });
      const m = smallManifest('watch', (x) => {
        x.instance_groups = x.instance_groups.slice(0, 1);
        const g = x.instance_groups[0];
        if (g) g.instances = 2;
        x.watch = { interval_seconds: 1 };
        x.update = { ...x.update, resurrect: true, resurrect_grace_seconds: 1 };
        // Nobody listens there: the outbox keeps retrying in the background, the entity is not delayed.
        x.callbacks = [
          { url: 'http://127.0.0.1:9/converge', events: ['instance.missing', 'operation.finished'] },
        ];
      });
      await converged(d, d.deploy('watch', { manifest: m, cloudConfig: cc }));
      const [victim] = await region.client.listServers({ 'converge.deployment': 'watch' });
      if (!victim) throw new Error('watch: no server to delete');
      await region.client.deleteServer(victim.id);
      for (let i = 0; ; i++) {
        const s = await d.status('watch');
        const healed = s.recent.find((r) => r.by === 'resurrector' && r.status === 'converged');
        if (healed) break;
        if (i > 600) throw new Error('watch: never resurrected');
        await sleep(100);
      }
      await idle(d, 'watch');
    },
  },
  {
    name: 'cloud-check',
    protects: {
      entity: 'the cck update: a report (dry run) and two resolutions, each an operation child',
      ops: {
        2: 'cck report: observe, the problems (orphan server, missing VM, its orphan allocation), nothing enacted',
        3: 'cck recreate-vm: the missing VM created and associated, nothing else touched',
        4: 'cck delete-orphan: the orphan server deleted and the stray allocation released',
      },
    },
    run: async ({ deployments, region }) => {
      const d = deployments();
      const name = 'cloud-check';
      const first = await converged(d, d.deploy(name, { manifest: smallManifest(name), cloudConfig: cc }));
      // Problems made by hand: a server tagged for the deployment that no instance owns, and a VM
      // deleted out of band (its allocation left behind).
      await region.client.createServer(
        serverRequest({
          name: 'by-hand',
          tags: { 'converge.deployment': name },
          idempotency_key: 'record-cloud-check-orphan',
        }),
      );
      const api = first.records.find((r) => r.group === 'api');
      const vm = (await region.client.listServers({ 'converge.deployment': name })).find(
        (x) => api !== undefined && x.tags['converge.instance'] === api.id,
      );
      if (!vm) throw new Error('cloud-check: no api VM to delete');
      while ((await region.client.deleteServer(vm.id)) === 'deleting') await sleep(50);
      const report = await converged(d, d.cck(name, {}), 'planned');
      if ((report.problems ?? []).length !== 3)
        throw new Error(`cloud-check: expected 3 problems, got ${JSON.stringify(report.problems)}`);
      await converged(d, d.cck(name, { resolution: 'recreate-vm' }));
      await converged(d, d.cck(name, { resolution: 'delete-orphan' }));
    },
  },
  {
    name: 'quota-exceeded',
    protects: {
      entity: 'a failed operation recorded by the entity',
      ops: { 1: 'quota shortfall: the operation fails before any step, naming the resource' },
    },
    run: async ({ deployments }) => {
      const d = deployments();
      const m = smallManifest('quota-exceeded', (x) => {
        const g = x.instance_groups[0];
        if (g) g.instances = 250; // the dev pool allows 200
      });
      await converged(d, d.deploy('quota-exceeded', { manifest: m, cloudConfig: cc }), 'failed');
    },
  },
];

// ---------------------------------------------------------------------------------------------

/** Every run of `workflowId`, oldest first, following continue-as-new back from the latest run. */
async function runsOf(client: Client, workflowId: string): Promise<{ runId: string; history: History }[]> {
  const runs: { runId: string; history: History }[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    runs.unshift({ runId, history });
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId ?? undefined;
  }
  return runs;
}

/** Operation workflow ids started by an entity, from its StartChildWorkflowExecutionInitiated events. */
function childrenOf(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    return id ? [id] : [];
  });
}

function workflowTypeOf(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}

function currentCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--', 'src/workflows', 'src/planner', 'src/domain'],
      {
        encoding: 'utf8',
      },
    ).trim();
    return dirty === '' ? sha : `${sha}-dirty`;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      label: { type: 'string' },
      note: { type: 'string', default: '' },
      scenario: { type: 'string' },
      out: { type: 'string' },
      commit: { type: 'string' },
    },
  });
  if (!values.label || !/^[a-z0-9][a-z0-9-]*$/.test(values.label)) {
    console.error(
      'usage: npm run record-histories -- --label <kebab-case-name> [--note "..."] [--scenario a,b] [--out DIR]',
    );
    process.exit(2);
  }
  const wanted = values.scenario?.split(',').map((s) => s.trim());
  const scenarios = wanted ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  if (wanted && scenarios.length !== wanted.length) {
    console.error(`unknown scenario; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const recording = `${new Date().toISOString().slice(0, 10)}-${values.label}`;
  const dir = join(values.out ?? HISTORIES_DIR, recording);
  if (existsSync(dir)) {
    console.error(`${dir} exists: recordings are never rewritten; choose another label`);
    process.exit(2);
  }
  const commit = values.commit ?? currentCommit();

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: resolveTemporalCli() },
      ip: '127.0.0.1',
      ui: false,
      namespace: 'default',
      extraArgs: searchAttributeArgs(),
    },
  });
  const region = await startRegion({ faults: { build_ms: 30, delete_ms: 30 } });
  const namespace = env.namespace ?? 'default';
  const client = new Client({ connection: env.connection, namespace, dataConverter });
  const workflowBundle = await bundleWorkflows();
  const { worker } = await createConvergeWorker({
    taskQueue: TASK_QUEUE,
    cloud: region.client,
    connection: env.nativeConnection,
    namespace,
    workflowBundle,
    env: {},
  });
  const entries: CatalogEntry[] = [];
  try {
    await worker.runUntil(async () => {
      const ctx: Context = {
        region,
        deployments: (limits, identity) =>
          new Deployments(client, {
            taskQueue: TASK_QUEUE,
            limits: { buildDeadlineMs: 60_000, ...limits },
            identity: identity ?? null,
          }),
      };
      for (const s of scenarios) {
        const t = Date.now();
        await s.run(ctx);
        console.log(`recorded ${s.name} (${Date.now() - t} ms)`);
      }
    });

    mkdirSync(dir, { recursive: true });
    for (const s of scenarios) {
      const entityId = `deployment/${s.name}`;
      const entityRuns = await runsOf(client, entityId);
      const ops = [...new Set(entityRuns.flatMap((r) => childrenOf(r.history)))];
      const workflows: { id: string; role: string; protects: string }[] = [
        { id: entityId, role: 'entity', protects: s.protects.entity },
        ...ops.map((id) => {
          if (id.startsWith('callbacks/'))
            return { id, role: 'callbacks', protects: `the callbacks outbox of ${s.name}` };
          const seq = Number(id.split('/').pop());
          return { id, role: `op-${seq}`, protects: s.protects.ops[seq] ?? `operation ${seq} of ${s.name}` };
        }),
      ];
      for (const w of workflows) {
        const runs = w.id === entityId ? entityRuns : await runsOf(client, w.id);
        for (const [i, r] of runs.entries()) {
          const file = `${s.name}.${w.role}${runs.length > 1 ? `.run-${i + 1}` : ''}.json`;
          const json = historyToJson(r.history);
          const back = historyFromJson(JSON.parse(JSON.stringify(json)));
          if (!Buffer.from(historyBytes(back)).equals(Buffer.from(historyBytes(r.history)))) {
            throw new Error(`${file}: the history does not survive a round trip through JSON`);
          }
          writeFileSync(join(dir, file), `${JSON.stringify(json, null, 1)}\n`);
          entries.push({
            file,
            workflowId: w.id,
            runId: r.runId,
            workflowType: workflowTypeOf(r.history),
            scenario: s.name,
            protects: runs.length > 1 ? `${w.protects} (run ${i + 1} of ${runs.length})` : w.protects,
            events: r.history.events?.length ?? 0,
            run: i + 1,
            runs: runs.length,
          });
        }
      }
    }
    const index: Recording = {
      recording,
      commit,
      recordedAt: new Date().toISOString(),
      note: values.note ?? '',
      histories: entries,
    };
    writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);

    // Self-check: what was just written replays against the code that wrote it.
    const replayed = Worker.runReplayHistories(
      { workflowBundle, dataConverter, replayName: 'record-histories' },
      entries.map((e) => ({
        workflowId: e.workflowId,
        history: historyFromJson(JSON.parse(readFileSync(join(dir, e.file), 'utf8'))),
      })),
    );
    let failures = 0;
    for await (const r of replayed) {
      if (r.error) {
        failures++;
        console.error(`does not replay: ${r.workflowId} ${r.runId}: ${r.error.message}`);
      }
    }
    const events = entries.reduce((n, e) => n + e.events, 0);
    console.log(
      `wrote ${entries.length} histories (${events} events) to ${dir} in ${Math.round((Date.now() - started) / 1000)} s; commit ${commit}`,
    );
    if (failures > 0) process.exitCode = 1;
  } finally {
    await region.stop();
    await env.teardown();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
