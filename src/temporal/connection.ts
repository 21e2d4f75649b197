// The one place that turns the environment into Temporal connection settings. The CLI and the
// worker both read it, so they can never disagree about which server, namespace or task queue they
// talk to. Loading is Temporal's own environment configuration (@temporalio/envconfig): the profile
// named by TEMPORAL_PROFILE (else "default") of temporal.toml (TEMPORAL_CONFIG_FILE, else the user's
// config dir), overridden by TEMPORAL_* variables, exactly as the Temporal CLI reads them. What is
// left here: the dev-stack default address, empty variables counting as unset, and errors that name
// the variable or profile key that is wrong.
import { existsSync, readFileSync } from 'node:fs';
import type { Client, Connection, TLSConfig } from '@temporalio/client';
import { createRequire } from 'node:module';
import type { ClientConfigProfile, ClientConfigTLS, ConfigDataSource } from '@temporalio/envconfig';
import { UserError } from '../domain/errors';
import { tracingConfigured } from './tracing-env';

export type Env = Record<string, string | undefined>;

// envconfig (with its TOML parser) is required on first use, not imported: `--help` and every
// command's start-up load this module, and most never read a setting.
const requireLazily = createRequire(import.meta.url);
const envconfig = (): typeof import('@temporalio/envconfig') =>
  requireLazily('@temporalio/envconfig') as typeof import('@temporalio/envconfig');

/** Defaults: the embedded dev stack (`converge dev up`). */
export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
export const DEFAULT_NAMESPACE = 'default';

/** The task queue the worker polls and the CLI starts workflows on. */
export const TASK_QUEUE = taskQueueFromEnv(process.env);

/** A misconfigured environment or profile: a user error (exit 2), never a stack trace. */
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
  /** gRPC headers from the profile's `grpc_meta` or TEMPORAL_GRPC_META_* variables. */
  metadata?: Record<string, string>;
}

/** The environment variables read here, with their meaning, for `--help` texts. */
export const CONNECTION_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['TEMPORAL_PROFILE', 'profile of the Temporal config file to use (default "default")'],
  ['TEMPORAL_CONFIG_FILE', 'Temporal config file (default ~/.config/temporalio/temporal.toml)'],
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

/** `--help` text for a list of environment variables. */
export function envHelp(title: string, rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`\n${title}:`, ...rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`)].join('\n');
}

export function taskQueueFromEnv(env: Env): string {
  return nonEmpty(env.CONVERGE_TASK_QUEUE) ?? 'converge';
}

export function temporalSettingsFromEnv(env: Env = process.env): TemporalSettings {
  const { profile, origin } = loadProfile(env);
  // The dev stack's port override also moves the default address, so `CONVERGE_TEMPORAL_PORT=7300
  // converge dev up` and a later `converge deploy` in the same shell agree.
  const port = nonEmpty(env.CONVERGE_TEMPORAL_PORT) ?? String(DEFAULT_TEMPORAL_PORT);
  const address = nonEmpty(profile.address) ?? `127.0.0.1:${port}`;
  const namespace = nonEmpty(profile.namespace) ?? DEFAULT_NAMESPACE;
  const apiKey = nonEmpty(profile.apiKey);
  const tls = tlsFromProfile(profile.tls, apiKey !== undefined, origin);
  const metadata = profile.grpcMeta;
  return {
    address,
    namespace,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(metadata !== undefined && Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
}

/** Options accepted by both `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export function connectionOptions(settings: TemporalSettings): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
} {
  return {
    address: settings.address,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.apiKey !== undefined ? { apiKey: settings.apiKey } : {}),
    ...(settings.metadata !== undefined ? { metadata: settings.metadata } : {}),
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
  const [{ Client, Connection }, { dataConverterFromEnv }, { clientPayloadKeyEnv }] = await Promise.all([
    import('./client-sdk'),
    import('./data-converter'),
    import('./payload-keys'),
  ]);
  const tracing = tracingConfigured(env) ? (await import('./tracing')).clientTracing(env) : null;
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s' });
  const client = new Client({
    connection,
    namespace: settings.namespace,
    dataConverter: dataConverterFromEnv(clientPayloadKeyEnv(env)),
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
  const namespace = nonEmpty(loadProfile(env).profile.namespace) ?? DEFAULT_NAMESPACE;
  const path = `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId === undefined ? path : `${path}/${encodeURIComponent(runId)}/history`;
}

/** Where a setting came from, for error messages: the variable if it is set, else the profile's key. */
interface Origin {
  (variable: string, tomlKey: string): string;
  /** The variable is set (non-empty) in the environment. */
  fromEnv: (variable: string) => boolean;
}

function loadProfile(env: Env): { profile: ClientConfigProfile; origin: Origin } {
  const vars = envconfigVariables(env);
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  const file = vars.TEMPORAL_CONFIG_FILE ?? 'the default temporal.toml';
  const fromEnv = (variable: string): boolean => vars[variable] !== undefined;
  const origin: Origin = Object.assign(
    (variable: string, tomlKey: string) =>
      fromEnv(variable) ? variable : `profile "${profileName}" ${tomlKey} (${file})`,
    { fromEnv },
  );
  if (vars.TEMPORAL_CONFIG_FILE !== undefined && !existsSync(vars.TEMPORAL_CONFIG_FILE)) {
    // envconfig treats a missing file as empty; a file named on purpose that is not there is a mistake.
    throw new ConnectionConfigError(`TEMPORAL_CONFIG_FILE: ${vars.TEMPORAL_CONFIG_FILE} does not exist`);
  }
  try {
    return { profile: envconfig().loadClientConfigProfile({ overrideEnvVars: vars }), origin };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConnectionConfigError(`Temporal config (${file}, profile "${profileName}"): ${reason}`);
  }
}

/**
 * The environment as envconfig should see it: set variables only (an empty TEMPORAL_API_KEY means
 * none, as the hand-written reader did), and TEMPORAL_TLS checked and spelled as envconfig reads it
 * (it takes anything but "1"/"true" as false, so "TEMPORAL_TLS=yes" would silently turn TLS off).
 */
function envconfigVariables(env: Env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    // An empty TEMPORAL_GRPC_META_X removes header X from the profile: keep it.
    if (value.trim() === '' && !name.startsWith('TEMPORAL_GRPC_META_')) continue;
    vars[name] = name.startsWith('TEMPORAL_') ? value.trim() : value;
  }
  const tls = parseBool('TEMPORAL_TLS', vars.TEMPORAL_TLS);
  if (tls !== undefined) vars.TEMPORAL_TLS = String(tls);
  return vars;
}

function tlsFromProfile(
  config: ClientConfigTLS | undefined,
  hasApiKey: boolean,
  origin: Origin,
): TLSConfig | undefined {
  const anyTlsSetting =
    config !== undefined &&
    [config.clientCert, config.clientKey, config.serverCACert, config.serverName].some(
      (v) => v !== undefined,
    );
  // As Temporal's envconfig: an API key or any TLS setting implies TLS unless explicitly disabled.
  const enabled = config?.disabled !== undefined ? !config.disabled : hasApiKey || anyTlsSetting;
  if (!enabled) {
    if (anyTlsSetting) {
      throw new ConnectionConfigError(
        `${origin('TEMPORAL_TLS', 'tls.disabled')} turns TLS off, which contradicts the TLS files or server name that are set`,
      );
    }
    return undefined;
  }
  if ((config?.clientCert === undefined) !== (config?.clientKey === undefined)) {
    const [cert, key] = ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'];
    const pair =
      origin.fromEnv(cert) || origin.fromEnv(key)
        ? `${cert} and ${key}`
        : origin('', 'tls.client_cert_path and tls.client_key_path');
    throw new ConnectionConfigError(`${pair} must be set together`);
  }
  const tls: TLSConfig = {};
  if (config?.serverName !== undefined) tls.serverNameOverride = config.serverName;
  if (config?.serverCACert !== undefined) {
    tls.serverRootCACertificate = readPem(
      origin('TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'tls.server_ca_cert'),
      config.serverCACert,
    );
  }
  if (config?.clientCert !== undefined && config.clientKey !== undefined) {
    tls.clientCertPair = {
      crt: readPem(origin('TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert'), config.clientCert),
      key: readPem(origin('TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key'), config.clientKey),
    };
  }
  return tls;
}

function readPem(where: string, source: ConfigDataSource): Buffer {
  if (!('path' in source)) return Buffer.from(source.data);
  try {
    return readFileSync(source.path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConnectionConfigError(`${where}: cannot read ${source.path} (${reason})`);
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
