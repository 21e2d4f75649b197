// Beyond the dev stack: a namespace created on the suite's real dev server starts without Converge's
// search attributes, as any cluster's or Temporal Cloud's does. The worker refuses to start there and
// the CLI says what is missing instead of "unexpected error"; `converge namespace prepare` registers
// them (idempotently), after which a deploy converges in that namespace. The printed operator command
// is run with the real Temporal CLI, so what a user is told to run works.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Converge } from '../../src/client/api';
import { Deployments } from '../../src/client/deployments';
import { loadDeploymentInputs } from '../../src/client/load';
import { TAG } from '../../src/domain/cloud';
import { UserError } from '../../src/domain/errors';
import { EXIT } from '../../src/domain/exit-codes';
import { dataConverter } from '../../src/temporal/data-converter';
import { resolveTemporalCli } from '../../src/temporal/dev-server';
import {
  checkNamespace,
  explainFailure,
  NamespaceNotReadyError,
  prepareNamespace,
} from '../../src/temporal/namespace-setup';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { createConvergeWorker } from '../../src/workers/worker';
import { runConverge, type CliRun } from '../support/cli';
import { startRegion, type StartedRegion } from '../support/region';
import {
  closeTestConnections,
  taskQueueFor,
  temporalAddress,
  testBundle,
  testConnection,
  testWorkerConnection,
} from '../support/temporal';
import { group, smallManifest } from '../support/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'converge-namespace-'));
let connection: Connection;
let region: StartedRegion;

beforeAll(async () => {
  connection = await testConnection();
  region = await startRegion();
});

afterAll(async () => {
  await region?.stop();
  await closeTestConnections();
  rmSync(dir, { recursive: true, force: true });
});

/** A new namespace on the suite's server, as `temporal operator namespace create` makes one. */
async function freshNamespace(label: string): Promise<string> {
  const namespace = `${label}-${randomBytes(3).toString('hex')}`;
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  // The frontend learns of a new namespace from its cache refresh: wait until it answers.
  for (let i = 0; ; i++) {
    try {
      await connection.operatorService.listSearchAttributes({ namespace });
      return namespace;
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The CLI in `namespace`, as a user would run it: only the TEMPORAL_* settings say where. */
function converge(namespace: string, args: string[], extra: Record<string, string> = {}): Promise<CliRun> {
  return runConverge(args, {
    env: {
      ...process.env,
      CONVERGE_DEBUG: '',
      CONVERGE_DEPLOYMENT: '',
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: namespace,
      CONVERGE_REGION_URL: region.url,
      CONVERGE_REGION_TOKEN: region.token,
      ...extra,
    },
    timeoutMs: 120_000,
  });
}

function manifestFile(name: string): string {
  const path = join(dir, `${name}.yml`);
  // Two small VMs, nothing else: api ×2 of the example.
  const manifest = smallManifest(name, (m) => {
    m.instance_groups = [{ ...group(m, 'api'), instances: 2 }];
  });
  writeFileSync(path, stringify(manifest));
  return path;
}

/** A Converge worker in `namespace` (started by the caller with run/runUntil). */
async function workerIn(namespace: string, taskQueue: string) {
  return createConvergeWorker({
    taskQueue,
    cloud: region.client,
    connection: await testWorkerConnection(),
    namespace,
    workflowBundle: await testBundle(),
    env: {},
  });
}

const MISSING_ALL = `lacks Converge's search attributes ${SEARCH_ATTRIBUTES.join(', ')} (Keyword)`;

describe('a namespace Converge has not prepared', () => {
  it('worker refuses, CLI says what to run, prepare fixes it, a deploy converges', async () => {
    const namespace = await freshNamespace('teamb');
    const taskQueue = taskQueueFor('namespace prepare');

    // The worker refuses with one line: what is missing and what to run. No stack trace.
    const worker = await converge(namespace, ['worker'], { CONVERGE_TASK_QUEUE: taskQueue });
    expect(worker.code, worker.stderr).toBe(EXIT.usage);
    const refusal = worker.stderr.trim().split('\n');
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain(`converge worker: namespace "${namespace}" ${MISSING_ALL}`);
    expect(refusal[0]).toContain('converge namespace prepare');
    expect(refusal[0]).toContain(
      `temporal operator search-attribute create --address ${temporalAddress()} --namespace ${namespace}`,
    );

    // deploy says the same before it starts anything (not "unexpected error").
    const name = `ns-${randomBytes(2).toString('hex')}`;
    const manifest = manifestFile(name);
    const deploy = (): Promise<CliRun> =>
      converge(namespace, ['deploy', manifest, '-c', 'examples/cloud-config.yml', '--yes'], {
        CONVERGE_TASK_QUEUE: taskQueue,
      });
    const refused = await deploy();
    expect(refused.code, refused.stderr).toBe(EXIT.usage);
    expect(refused.stderr).toContain(`error: namespace "${namespace}" ${MISSING_ALL}`);
    expect(refused.stderr).not.toContain('unexpected error');
    const { executions } = await connection.workflowService.listWorkflowExecutions({ namespace });
    expect(executions ?? [], 'nothing was started').toEqual([]);

    // A read that fails on the missing attributes (its visibility query names one) says the same.
    const operations = await converge(namespace, ['operations', '-d', 'web']);
    expect(operations.code, operations.stderr).toBe(EXIT.usage);
    expect(operations.stderr).toContain(MISSING_ALL);
    expect(operations.stderr).not.toContain('unexpected error');

    // prepare registers them; a second run finds them (idempotent).
    const prepared = await converge(namespace, ['namespace', 'prepare']);
    expect(prepared.code, prepared.stderr).toBe(EXIT.ok);
    expect(prepared.stdout).toContain(
      `namespace "${namespace}" is ready for Converge: registered ${SEARCH_ATTRIBUTES.join(', ')}`,
    );
    const again = await converge(namespace, ['namespace', 'prepare', '--json']);
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(JSON.parse(again.stdout)).toEqual({
      outcome: 'ready',
      namespace,
      added: [],
      present: SEARCH_ATTRIBUTES,
    });

    // Now a worker starts in that namespace and a deploy through the CLI converges there.
    const converging = await workerIn(namespace, taskQueue);
    const done = await converging.worker.runUntil(deploy());
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(EXIT.ok);
    expect(await region.client.listServers({ [TAG.deployment]: name })).toHaveLength(2);
  });

  it('attributes gone under a running worker: the failed deploy is explained, and after prepare the same entity converges', async () => {
    // The issue as a user met it: the worker runs (here it passed its start check, then the
    // attributes were removed; an earlier Converge had no check), and a deploy's update fails with
    // only "unexpected workflow task failure" while every workflow task fails with BadSearchAttributes.
    const namespace = await freshNamespace('gone');
    const target = { namespace, address: temporalAddress() };
    await prepareNamespace(connection.operatorService, target);
    const taskQueue = taskQueueFor('attributes gone');
    const running = await workerIn(namespace, taskQueue);
    await connection.operatorService.removeSearchAttributes({
      namespace,
      searchAttributes: [...SEARCH_ATTRIBUTES],
    });
    const client = new Client({ connection, namespace, dataConverter });
    const deployments = new Deployments(client, { taskQueue });
    const { manifest, cloudConfig } = loadDeploymentInputs(
      manifestFile('gone'),
      'examples/cloud-config.yml',
      'region',
    );
    const request = { manifest, cloudConfig, recreate: false };
    await running.worker.runUntil(async () => {
      const failure = await deployments.deploy(manifest.name, request).catch((e: unknown) => e);
      expect((failure as Error).message).toContain('unexpected workflow task failure');
      const explained = await explainFailure(connection.operatorService, target, failure);
      expect(explained).toBeInstanceOf(NamespaceNotReadyError);
      expect((explained as Error).message).toContain(`namespace "${namespace}" ${MISSING_ALL}`);

      await prepareNamespace(connection.operatorService, target);
      // The entity the failed deploy started recovers on its next workflow task: no cleanup needed.
      const result = await deployments.wait(await deployments.deploy(manifest.name, request));
      expect(result.status).toBe('converged');
    });
    // An unrelated failure is left as it is.
    const other = new Error('something else');
    expect(await explainFailure(connection.operatorService, target, other)).toBe(other);
  });

  it('the client API refuses a deploy the same way, before starting anything', async () => {
    const namespace = await freshNamespace('api');
    const converge = await Converge.connect({
      env: { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: namespace },
    });
    try {
      const error = await converge
        .deploy(manifestFile('api'), 'examples/cloud-config.yml')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toContain(`namespace "${namespace}" ${MISSING_ALL}`);
    } finally {
      await converge.close();
    }
    const { executions } = await connection.workflowService.listWorkflowExecutions({ namespace });
    expect(executions ?? []).toEqual([]);
  });

  it('the operator command the worker prints, run with the real Temporal CLI, prepares the namespace', async () => {
    const namespace = await freshNamespace('printed');
    const target = { namespace, address: temporalAddress() };
    const refusal = await converge(namespace, ['worker']);
    const command = /have an operator run: (temporal operator search-attribute create .*)$/m.exec(
      refusal.stderr,
    )?.[1];
    expect(command, refusal.stderr).toBeDefined();
    const args = (command ?? '').split(' ').slice(1); // after "temporal"
    await promisify(execFile)(resolveTemporalCli(), args, { timeout: 60_000 });
    expect(await checkNamespace(connection.operatorService, target)).toEqual({ missing: [], clashes: [] });
  });

  it('Temporal Cloud: prepare registers nothing and gives the tcld command', async () => {
    const namespace = await freshNamespace('cloudlike');
    // The operator calls go to the dev server; the target's address is what marks it as Cloud.
    const cloud = { namespace, address: `${namespace}.a1b2c.tmprl.cloud:7233` };
    const preparation = await prepareNamespace(connection.operatorService, cloud);
    expect(preparation).toEqual({
      outcome: 'not_allowed',
      namespace,
      missing: SEARCH_ATTRIBUTES,
      reason: 'Temporal Cloud registers search attributes with tcld or the Cloud UI',
      command:
        `tcld namespace search-attributes add --namespace ${namespace} ` +
        SEARCH_ATTRIBUTES.map((n) => `--search-attribute '${n}=Keyword'`).join(' '),
    });
    const gaps = await checkNamespace(connection.operatorService, cloud);
    expect(gaps?.missing).toEqual(SEARCH_ATTRIBUTES);
  });

  it('an attribute registered with another type is a clear error, and nothing is added', async () => {
    const namespace = await freshNamespace('clash');
    const target = { namespace, address: temporalAddress() };
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: {
        ConvergePhase: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
      },
    });
    const error = await prepareNamespace(connection.operatorService, target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NamespaceNotReadyError);
    expect((error as Error).message).toBe(
      `namespace "${namespace}" has ConvergePhase as Text, Converge needs Keyword; a search attribute's ` +
        'type cannot change: remove it if nothing else uses it, or use another namespace',
    );
    expect(await checkNamespace(connection.operatorService, target)).toEqual({
      missing: ['ConvergeDeployment', 'ConvergeOperation'],
      clashes: [{ name: 'ConvergePhase', registered: 'Text' }],
    });

    const cli = await converge(namespace, ['namespace', 'prepare']);
    expect(cli.code, cli.stderr).toBe(EXIT.usage);
    expect(cli.stderr.trim()).toBe(`error: ${(error as Error).message}`);
  });

  it('a namespace that does not exist is named, with how to create it', async () => {
    const namespace = `absent-${randomBytes(3).toString('hex')}`;
    const cli = await converge(namespace, ['namespace', 'prepare']);
    expect(cli.code, cli.stderr).toBe(EXIT.usage);
    expect(cli.stderr).toContain(`namespace "${namespace}" does not exist on ${temporalAddress()}`);
  });
});
