// The one place that turns the environment into Temporal connection settings. The CLI and the
// worker both read it, so they can never disagree about which server, namespace or task queue
// they talk to. Variable names follow Temporal's own environment configuration.
import { readFileSync } from 'node:fs';
import type { Client, Connection, TLSConfig } from '@temporalio/client';
import { UserError } from '../domain/errors';
import { tracingConfigured } from '../workers/tracing-env';

export type Env = Record<string, string | undefined>;

/** Defaults: the embedded dev stack (`converge dev up`). */
export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
export const DEFAULT_NAMESPACE = 'default';

/** The task queue the worker polls and the CLI starts workflows on. */
export const TASK_QUEUE = taskQueueFromEnv(process.env);

/** A misconfigured environment: a user error (exit 2), never a stack trace. */
export class ConnectionConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConnectionConfigError';
  }
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: TLSConfig;
}

/** The environment variables read here, with their meaning, for `--help` texts. */
export const CONNECTION_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['TEMPORAL_ADDRESS', `host:port of the Temporal frontend (default 127.0.0.1:${DEFAULT_TEMPORAL_PORT})`],
  ['TEMPORAL_NAMESPACE', `namespace (default ${DEFAULT_NAMESPACE})`],
  ['TEMPORAL_API_KEY', 'API key (Temporal Cloud); turns TLS on unless TEMPORAL_TLS=false'],
  ['TEMPORAL_TLS', 'true/false: use TLS'],
  ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'mTLS client certificate (PEM); needs the key too'],
  ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'mTLS client private key (PEM)'],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'CA certificate to trust for the server (PEM)'],
  ['TEMPORAL_TLS_SERVER_NAME', 'server name to verify (SNI override)'],
  ['CONVERGE_TASK_QUEUE', 'task queue (default converge)'],
  ['CONVERGE_UI_URL', `Temporal Web UI base for links (default http://127.0.0.1:${DEFAULT_UI_PORT})`],
];

export function taskQueueFromEnv(env: Env): string {
  return nonEmpty(env.CONVERGE_TASK_QUEUE) ?? 'converge';
}

export function temporalSettingsFromEnv(env: Env = process.env): TemporalSettings {
  // The dev stack's port override also moves the default address, so `CONVERGE_TEMPORAL_PORT=7300
  // converge dev up` and a later `converge deploy` in the same shell agree.
  const port = nonEmpty(env.CONVERGE_TEMPORAL_PORT) ?? String(DEFAULT_TEMPORAL_PORT);
  const address = nonEmpty(env.TEMPORAL_ADDRESS) ?? `127.0.0.1:${port}`;
  const namespace = nonEmpty(env.TEMPORAL_NAMESPACE) ?? DEFAULT_NAMESPACE;
  const apiKey = nonEmpty(env.TEMPORAL_API_KEY);
  const tls = tlsFromEnv(env, apiKey !== undefined);
  return {
    address,
    namespace,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

/** Options accepted by both `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export function connectionOptions(settings: TemporalSettings): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  return {
    address: settings.address,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.apiKey !== undefined ? { apiKey: settings.apiKey } : {}),
  };
}

export interface ConnectedClient {
  client: Client;
  connection: Connection;
  settings: TemporalSettings;
  /** Closes the connection and flushes the trace, if tracing is on. */
  close: () => Promise<void>;
}

/**
 * Connects the CLI's client; with an OTLP endpoint configured, its calls start traces (each update
 * starts an operation's). Callers `close()` when done.
 */
export async function connectClient(env: Env = process.env): Promise<ConnectedClient> {
  const settings = temporalSettingsFromEnv(env);
  // Loaded here, not at the top: the SDK is most of the CLI's start-up, and --help needs none of it.
  const [{ Client, Connection }, { dataConverter }] = await Promise.all([
    import('@temporalio/client'),
    import('./data-converter'),
  ]);
  const tracing = tracingConfigured(env) ? (await import('../workers/tracing')).clientTracing(env) : null;
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s' });
  const client = new Client({
    connection,
    namespace: settings.namespace,
    dataConverter,
    ...(tracing !== null ? { interceptors: { workflow: [tracing.interceptor] } } : {}),
  });
  const close = async (): Promise<void> => {
    await connection.close();
    await tracing?.shutdown();
  };
  return { client, connection, settings, close };
}

/** A link to a workflow in the Temporal Web UI (the latest run unless `runId` is given). */
export function uiLink(workflowId: string, runId?: string, env: Env = process.env): string {
  const uiPort = nonEmpty(env.CONVERGE_UI_PORT) ?? String(DEFAULT_UI_PORT);
  const base = (nonEmpty(env.CONVERGE_UI_URL) ?? `http://127.0.0.1:${uiPort}`).replace(/\/+$/, '');
  const namespace = nonEmpty(env.TEMPORAL_NAMESPACE) ?? DEFAULT_NAMESPACE;
  const path = `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId === undefined ? path : `${path}/${encodeURIComponent(runId)}/history`;
}

function tlsFromEnv(env: Env, hasApiKey: boolean): TLSConfig | undefined {
  const flag = parseBool('TEMPORAL_TLS', env.TEMPORAL_TLS);
  const certPath = nonEmpty(env.TEMPORAL_TLS_CLIENT_CERT_PATH);
  const keyPath = nonEmpty(env.TEMPORAL_TLS_CLIENT_KEY_PATH);
  const caPath = nonEmpty(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH);
  const serverName = nonEmpty(env.TEMPORAL_TLS_SERVER_NAME);
  const anyTlsSetting = [certPath, keyPath, caPath, serverName].some((v) => v !== undefined);

  // As Temporal's envconfig: an API key or any TLS file implies TLS unless explicitly disabled.
  const enabled = flag ?? (hasApiKey || anyTlsSetting);
  if (!enabled) {
    if (anyTlsSetting) {
      throw new ConnectionConfigError(
        'TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings that are set',
      );
    }
    return undefined;
  }
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConnectionConfigError(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together',
    );
  }
  const tls: TLSConfig = {};
  if (serverName !== undefined) tls.serverNameOverride = serverName;
  if (caPath !== undefined) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_SERVER_CA_CERT_PATH', caPath);
  if (certPath !== undefined && keyPath !== undefined) {
    tls.clientCertPair = {
      crt: readPem('TEMPORAL_TLS_CLIENT_CERT_PATH', certPath),
      key: readPem('TEMPORAL_TLS_CLIENT_KEY_PATH', keyPath),
    };
  }
  return tls;
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConnectionConfigError(`${variable}: cannot read ${path} (${reason})`);
  }
}

function parseBool(variable: string, value: string | undefined): boolean | undefined {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConnectionConfigError(`${variable}: expected true or false, got "${value}"`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}
