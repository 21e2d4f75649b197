// Smoke test of the infrastructure alone (no Converge workflows or activities): the suite's dev
// server is up with Converge's search attributes, the shared connection module reaches it from the
// environment, and a worker bundles, polls and runs a workflow from a test-only file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectClient, temporalSettingsFromEnv, uiLink } from '../../src/temporal/connection';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import {
  closeTestConnections,
  taskQueueFor,
  temporalAddress,
  temporalNamespace,
  testBundle,
  testClient,
  testConnection,
  testWorkerConnection,
} from '../support/temporal';
import { DEPLOYMENT_KEY, finish, PHASE_KEY, smoke, type SmokeActivities } from './fixtures/smoke-workflows';

const SMOKE_WORKFLOWS = fileURLToPath(new URL('./fixtures/smoke-workflows.ts', import.meta.url));

afterAll(async () => {
  await closeTestConnections();
});

describe('integration infrastructure', () => {
  it('registers the Converge search attributes as Keyword on the dev server', async () => {
    const connection = await testConnection();
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: temporalNamespace(),
    });
    for (const name of SEARCH_ATTRIBUTES) {
      expect(customAttributes[name], name).toBe(
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      );
    }
  });

  it('connects through the shared connection module from TEMPORAL_* variables', async () => {
    const { client, connection, settings } = await connectClient({
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: temporalNamespace(),
    });
    try {
      expect(settings).toEqual({ address: temporalAddress(), namespace: temporalNamespace() });
      const described = await client.workflowService.describeNamespace({ namespace: temporalNamespace() });
      expect(described.namespaceInfo?.name).toBe(temporalNamespace());
    } finally {
      await connection.close();
    }
    expect(uiLink('deployment/web', undefined, { TEMPORAL_NAMESPACE: 'default' })).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/deployment%2Fweb',
    );
  });

  it('runs a workflow with an activity, an update and search attributes through a worker', async () => {
    const taskQueue = taskQueueFor('smoke workflow');
    const bundle = testBundle(SMOKE_WORKFLOWS);
    expect(testBundle(SMOKE_WORKFLOWS)).toBe(bundle); // built once per test process
    const activities: SmokeActivities = { greet: (name) => Promise.resolve(`hello ${name}`) };
    const worker = await Worker.create({
      connection: await testWorkerConnection(),
      namespace: temporalNamespace(),
      taskQueue,
      workflowBundle: await bundle,
      activities,
    });
    const client = await testClient();
    const workflowId = `smoke/${taskQueue}`;

    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start(smoke, { taskQueue, workflowId, args: ['web'] });
      // The handler answers only after the activity returned, so this also waits for the worker.
      const updated = await handle.executeUpdate(finish, { args: ['world'] });
      expect(updated).toBe('hello web world');
      return handle.result();
    });
    expect(result).toBe('hello web world');

    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(DEPLOYMENT_KEY)).toBe('web');
    expect(description.typedSearchAttributes.get(PHASE_KEY)).toBe('waiting');
    // Visibility is eventually consistent: the attribute is queryable once indexed.
    const found = await retryUntil(async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({
        query: `ConvergeDeployment = "web" AND WorkflowId = "${workflowId}"`,
      })) {
        ids.push(wf.workflowId);
      }
      if (ids.length === 0) throw new Error('not indexed yet');
      return ids;
    });
    expect(found).toEqual([workflowId]);
  });
});

describe('connection settings from the environment', () => {
  it('defaults to the embedded stack, and CONVERGE_TEMPORAL_PORT moves the default address', () => {
    expect(temporalSettingsFromEnv({})).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
    expect(temporalSettingsFromEnv({ CONVERGE_TEMPORAL_PORT: '7300' }).address).toBe('127.0.0.1:7300');
    expect(temporalSettingsFromEnv({ CONVERGE_TEMPORAL_PORT: '7300', TEMPORAL_ADDRESS: 'h:1' }).address).toBe(
      'h:1',
    );
  });

  it('turns TLS on for an API key unless TEMPORAL_TLS=false', () => {
    expect(temporalSettingsFromEnv({ TEMPORAL_API_KEY: 'k' })).toMatchObject({ apiKey: 'k', tls: {} });
    expect(temporalSettingsFromEnv({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBeUndefined();
  });

  it('reads the TLS files and names the variable that is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'converge-tls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const pem = (name: string): string => {
      const file = join(dir, `${name}.pem`);
      writeFileSync(file, `pem of ${file}`);
      return file;
    };
    const [crt, key, ca] = [pem('crt'), pem('key'), pem('ca')];
    const tls = temporalSettingsFromEnv({
      TEMPORAL_TLS_CLIENT_CERT_PATH: crt,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.example',
    }).tls;
    expect(tls?.serverNameOverride).toBe('temporal.example');
    expect(Buffer.from(tls?.clientCertPair?.crt ?? []).toString()).toBe(`pem of ${crt}`);
    expect(Buffer.from(tls?.serverRootCACertificate ?? []).toString()).toBe(`pem of ${ca}`);
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt })).toThrow(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together',
    );
    expect(() =>
      temporalSettingsFromEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') }),
    ).toThrow(/^TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read/);
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS: 'maybe' })).toThrow(
      'TEMPORAL_TLS: expected true or false',
    );
  });

  it('links to the UI, by run when given', () => {
    const env = { CONVERGE_UI_URL: 'https://ui.example/', TEMPORAL_NAMESPACE: 'prod' };
    expect(uiLink('deployment/web/op/2', 'r1', env)).toBe(
      'https://ui.example/namespaces/prod/workflows/deployment%2Fweb%2Fop%2F2/r1/history',
    );
  });
});

/** Retries `fn` every 100 ms for up to 10 s; rethrows its last error. */
async function retryUntil<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
