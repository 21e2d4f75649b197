// The worker: polls the Converge task queue, runs the deployment workflows from src/workflows and
// the activities from src/activities against the cloud named by the environment. Cloud credentials
// live here (the process environment), never in workflow inputs or history.
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { IllegalStateError, type WorkerDeploymentVersion } from '@temporalio/common';
import { callbackSecretFromEnv, createActivities, createCallbackActivities } from '../activities';
import { checkClouds, cloudsFromEnv } from '../cloud';
import type { Cloud } from '../cloud/port';
import type { CloudKind } from '../domain/cloud-target';
import {
  connectionOptions,
  taskQueueFromEnv,
  temporalSettingsFromEnv,
  type Env,
  type TemporalSettings,
} from '../temporal/connection';
import { bundleWorkflows } from './bundle';
import { WORKFLOWS_PATH } from './paths';
import { dataConverterFromEnv } from '../temporal/data-converter';
import { requireReadyNamespace } from '../temporal/namespace-setup';
import { settingsActivity, workerSettingsFromEnv } from './settings';
import { tuningFromEnv, withinSlots, type WorkerTuning } from './tuning';
import { meteredCloud, metricsAddressFromEnv, retryCounting } from './metrics';
import { tracingConfigured } from '../temporal/tracing-env';
import { permissionsLine, trustRootFromEnv, withTrustRoot } from './trust-root';
import { deploymentVersion, versioningFromEnv } from './versioning';

/** Printed once the worker polls; `converge dev up` looks for it in the worker's log. */
export const WORKER_STARTED_MARKER = 'converge worker started';

export interface ConvergeWorkerOptions {
  /** Default: CONVERGE_TASK_QUEUE or `converge`. */
  taskQueue?: string;
  /** Default: `cloudsFromEnv(env)` (CONVERGE_CLOUD, CONVERGE_REGION_URL, CONVERGE_REGION_TOKEN, EC2's). */
  cloud?: Cloud;
  /**
   * What `cloud` computes on, for operations to check cloud configs against (WorkerSettings.cloud).
   * Default: CONVERGE_CLOUD's when the cloud comes from the environment, else unchecked.
   */
  cloudKind?: CloudKind;
  /** A prebuilt bundle (see bundle.ts); otherwise `workflowsPath` is bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Default: src/workflows/index.ts. Ignored when `workflowBundle` is given. */
  workflowsPath?: string;
  /** Default: a new connection from TEMPORAL_* variables, closed with the worker. */
  connection?: NativeConnection;
  /** Default: TEMPORAL_NAMESPACE, else `default`. */
  namespace?: string;
  tuning?: Partial<WorkerTuning>;
  env?: Env;
  /** The admin public key (hex) that turns permissions on; default from CONVERGE_ADMIN_PUBLIC_KEY(_FILE). */
  trustRoot?: string | null;
}

export interface ConvergeWorker {
  worker: Worker;
  connection: NativeConnection;
  taskQueue: string;
  /** The build this worker is (Worker Versioning), or null when versioning is off. */
  version: WorkerDeploymentVersion | null;
  settings: TemporalSettings;
  /** The admin key baked into this worker's bundle; null: permissions off. */
  trustRoot: string | null;
  /** Closes the connection if this module opened it. Call after `worker.run()` settles. */
  close: () => Promise<void>;
}

/** Builds (but does not run) a worker. Tests use this with their own connection and bundle. */
export async function createConvergeWorker(options: ConvergeWorkerOptions = {}): Promise<ConvergeWorker> {
  const env = options.env ?? process.env;
  const settings = temporalSettingsFromEnv(env);
  const namespace = options.namespace ?? settings.namespace;
  const taskQueue = options.taskQueue ?? taskQueueFromEnv(env);
  const tuning = withinSlots({ ...tuningFromEnv(env), ...options.tuning });
  const chosen = options.cloud ? { cloud: options.cloud, kind: options.cloudKind } : await checkedCloud(env);
  const cloud = meteredCloud(chosen.cloud, Runtime.instance().metricMeter);
  const trustRoot = options.trustRoot !== undefined ? options.trustRoot : trustRootFromEnv(env);

  // OpenTelemetry loads only when an OTLP endpoint is configured (tracing-env.ts).
  const tracing = tracingConfigured(env) ? (await import('../temporal/tracing')).workerTracing(env) : null;

  const versioning = versioningFromEnv(env);
  const ownsConnection = options.connection === undefined;
  const connection = options.connection ?? (await connectWorker(settings));
  try {
    // Refuse at start, with what to run, rather than fail every workflow task that sets them.
    await requireReadyNamespace(connection.operatorService, { namespace, address: settings.address });
    // Bundled here rather than by Worker.create so webpack's report stays out of the log. The build id
    // hashes the bundle with its trust root: a worker with another admin key is another build.
    const workflowBundle = withTrustRoot(
      options.workflowBundle ??
        (await bundleWorkflows(options.workflowsPath ?? WORKFLOWS_PATH, { traced: tracing !== null })),
      trustRoot,
    );
    const version = versioning === null ? null : deploymentVersion(versioning, workflowBundle);
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowBundle,
      // The operation (PINNED) and the entity (AUTO_UPGRADE) say theirs (src/workflows); the default
      // serves the other types (the callbacks outbox) and runs begun on an unversioned worker.
      ...(version === null
        ? {}
        : {
            workerDeploymentOptions: {
              version,
              useWorkerVersioning: true,
              defaultVersioningBehavior: 'AUTO_UPGRADE',
            },
          }),
      plugins: tracing !== null ? [tracing.plugin] : [],
      dataConverter: dataConverterFromEnv(env),
      activities: {
        ...createActivities(cloud),
        ...settingsActivity(workerSettingsFromEnv(env, chosen.kind)),
        // The callback secret stays in this process: activities sign, workflows never see it.
        ...createCallbackActivities({ secret: callbackSecretFromEnv(env) }),
      },
      interceptors: { activity: [retryCounting] },
      ...tuning,
      // In-flight activities get this long to finish after a shutdown signal before they are
      // cancelled; they are idempotent, so a cut-off one is simply retried by the next worker.
      shutdownGraceTime: '10s',
    });
    return {
      worker,
      connection,
      taskQueue,
      version,
      settings: { ...settings, namespace },
      trustRoot,
      close: async () => {
        if (ownsConnection) await connection.close();
        await tracing?.shutdown();
      },
    };
  } catch (err) {
    if (ownsConnection) await connection.close();
    await tracing?.shutdown();
    throw err;
  }
}

export interface RunWorkerOptions extends ConvergeWorkerOptions {
  /** Signals that drain the worker gracefully (a second one kills it). Default SIGINT, SIGTERM. */
  shutdownSignals?: NodeJS.Signals[];
  /** Called once the worker is polling. Default: prints the started line to stdout. */
  onStarted?: (info: {
    taskQueue: string;
    address: string;
    namespace: string;
    permissions: string;
    version: WorkerDeploymentVersion | null;
  }) => void;
}

/** Runs a worker until a shutdown signal drains it. Resolves once it has stopped. */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  installRuntime(options.shutdownSignals ?? ['SIGINT', 'SIGTERM'], metricsAddressFromEnv(env));
  const { worker, taskQueue, settings, trustRoot, version, close } = await createConvergeWorker(options);
  const info = {
    taskQueue,
    address: settings.address,
    namespace: settings.namespace,
    permissions: permissionsLine(trustRoot),
    version,
  };
  const onStarted =
    options.onStarted ??
    ((i: typeof info) =>
      console.log(
        `${WORKER_STARTED_MARKER}: task queue "${i.taskQueue}" on ${i.address} (namespace ${i.namespace})` +
          (i.version === null ? '' : `, deployment ${i.version.deploymentName} build ${i.version.buildId}`) +
          `; ${i.permissions}`,
      ));
  try {
    // run() starts polling at once (Worker.create already checked the server and namespace) and
    // resolves when the Runtime's signal handler has drained the worker.
    const running = worker.run();
    onStarted(info);
    await running;
  } finally {
    await close();
  }
}

/** The cloud by CONVERGE_CLOUD, checked before Temporal: one line says what it reached, or why not. */
async function checkedCloud(env: Env): Promise<{ cloud: Cloud; kind: CloudKind }> {
  const clouds = cloudsFromEnv(env);
  console.log(await checkClouds(clouds, env));
  return clouds;
}

async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(settings));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const refused = /connection refused|tcp connect error/i.test(reason) ? 'connection refused' : reason;
    throw new Error(
      `cannot reach Temporal at ${settings.address} (${refused}); start the embedded stack with ` +
        '`converge dev up` or point TEMPORAL_ADDRESS at a running server',
    );
  }
}

// The Runtime owns process-wide signal handling: on the first signal it asks every worker to drain,
// then removes its handlers so a second Ctrl-C falls through to Node's default (exit).
// With a metrics address, the Runtime also serves Prometheus metrics (the SDK's and Converge's).
function installRuntime(shutdownSignals: NodeJS.Signals[], metricsAddress: string | null): void {
  try {
    Runtime.install({
      shutdownSignals,
      ...(metricsAddress !== null
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } }
        : {}),
    });
  } catch (err) {
    // Already installed (e.g. a test process that made a connection first): keep its settings.
    if (!(err instanceof IllegalStateError)) throw err;
  }
}
