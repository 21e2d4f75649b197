// The public client API, package export "converge/client": what the CLI does, for a script. Deploy a
// manifest, follow its operation, read status and the list of operations, without the CLI. Settings
// come from the same TEMPORAL_* / CONVERGE_TASK_QUEUE variables as the CLI (or `env`).
import { identityPath, readIdentity } from './identity';
import { connectClient, taskQueueFromEnv, type ConnectedClient, type Env } from '../temporal/connection';
import { Deployments } from './deployments';
import { loadDeploymentInputs } from './load';
import { inNamespace } from '../temporal/namespace-setup';
import type { OperationSummary } from './operations';
import type {
  DeploymentStatus,
  OperationProgress,
  OperationResult,
  OperationTicket,
} from '../workflows/types';

export type { Manifest } from '../domain/manifest';
export type { CloudConfig } from '../domain/cloud-config';
export { UserError, ValidationError } from '../domain/errors';
export type { OperationSummary } from './operations';
export type {
  DeploymentStatus,
  OperationProgress,
  OperationResult,
  OperationTicket,
  StatusRow,
} from '../workflows/types';

export interface ConvergeOptions {
  /** Where TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, … are read (default process.env). */
  env?: Env;
}

export interface DeployOptions {
  /** Replace every started instance, even unchanged ones. */
  recreate?: boolean;
  /** Plan only: the result's `plan` says what would happen; nothing changes. */
  dryRun?: boolean;
}

export class Converge {
  private constructor(
    private readonly connected: ConnectedClient,
    private readonly deployments: Deployments,
  ) {}

  /** Connects to Temporal; `close()` when done. */
  static async connect(options: ConvergeOptions = {}): Promise<Converge> {
    const env = options.env ?? process.env;
    const connected = await connectClient(env);
    // Signed with the CLI's identity (identity.ts) when there is one: a worker with permissions on needs it.
    const identity = readIdentity(identityPath(env));
    return new Converge(
      connected,
      new Deployments(connected.client, { taskQueue: taskQueueFromEnv(env), identity }),
    );
  }

  /**
   * Validates the manifest and cloud config files (a ValidationError lists every problem with its
   * line) and starts the deploy; returns at once with the operation's ticket (see `follow`).
   */
  async deploy(
    manifestPath: string,
    cloudConfigPath: string,
    options: DeployOptions = {},
  ): Promise<OperationTicket> {
    const { manifest, cloudConfig } = loadDeploymentInputs(manifestPath, cloudConfigPath);
    // As the CLI: a namespace without Converge's search attributes is a UserError saying what to run.
    const { namespace, address } = this.connected.settings;
    return inNamespace(
      this.connected.connection.operatorService,
      { namespace, address },
      () =>
        this.deployments.deploy(manifest.name, {
          manifest,
          cloudConfig,
          recreate: options.recreate ?? false,
          dryRun: options.dryRun ?? false,
        }),
      true,
    );
  }

  /** Waits for the operation to end, calling `onProgress` about every `pollMs` while it runs. */
  follow(
    ticket: OperationTicket,
    onProgress?: (progress: OperationProgress) => void,
    pollMs = 500,
  ): Promise<OperationResult> {
    return this.deployments.wait(ticket, onProgress, pollMs);
  }

  status(deployment: string): Promise<DeploymentStatus> {
    return this.deployments.status(deployment);
  }

  operations(deployment: string, limit?: number): Promise<OperationSummary[]> {
    return this.deployments.operations(deployment, limit);
  }

  close(): Promise<void> {
    return this.connected.close();
  }
}
