// One region client per process (Unikorn's TODO: do not rebuild the client, and its sockets, per call).
// Credentials come from the worker's environment only; they never enter workflow inputs or logs.
import { ec2ComputeFromEnv, type Ec2Compute } from './ec2';
import { GuardedLedger, joinCloud } from './ledger';
import type { Cloud } from './port';
import { UserError } from '../domain/errors';
import { EXIT } from '../domain/exit-codes';
import { CLOUD_KINDS, type CloudKind } from '../domain/cloud-target';
import { RegionClient } from './region-client';

export { RegionClient, type RegionClientOptions } from './region-client';
export * from './errors';
export type * from './port';
export { GuardedLedger, joinCloud } from './ledger';

export const DEFAULT_REGION_URL = 'http://127.0.0.1:7480';
/** The token `converge region` accepts when started without --token or CONVERGE_REGION_TOKEN. */
export const DEV_REGION_TOKEN = 'dev-token';

type Env = Record<string, string | undefined>;

let cached: { url: string; token: string; client: RegionClient } | undefined;

/**
 * The process-wide client for CONVERGE_REGION_URL / CONVERGE_REGION_TOKEN. Asking again with the same
 * settings returns the same client; different settings (a test pointing elsewhere) replace it.
 */
export function cloudFromEnv(env: Env = process.env): RegionClient {
  const url = env.CONVERGE_REGION_URL || DEFAULT_REGION_URL;
  const token = env.CONVERGE_REGION_TOKEN || DEV_REGION_TOKEN;
  if (cached && cached.url === url && cached.token === token) return cached.client;
  cached?.client.close();
  const timeout = Number(env.CONVERGE_REGION_TIMEOUT_MS);
  const client = new RegionClient({ url, token, ...(timeout > 0 ? { timeoutMs: timeout } : {}) });
  cached = { url, token, client };
  return client;
}

export { CLOUD_KINDS, type CloudKind } from '../domain/cloud-target';

export interface Clouds {
  kind: CloudKind;
  /** What the activities are built from. */
  cloud: Cloud;
  /** The EC2 adapter, when the compute backend is EC2 (its call counts feed the bench). */
  ec2?: Ec2Compute;
}

let cachedEc2: { key: string; ec2: Ec2Compute } | undefined;

/**
 * The worker's clouds by CONVERGE_CLOUD: `region` (default) computes and keeps quota in the embedded
 * region; `ec2` computes on EC2 (see ec2/index.ts for its variables) and keeps quota in the region's
 * ledger (CONVERGE_REGION_URL), guarded so that no allocation is released while EC2 has its server.
 */
export function cloudsFromEnv(env: Env = process.env): Clouds {
  const kind = env.CONVERGE_CLOUD || 'region';
  const region = cloudFromEnv(env);
  if (kind === 'region') return { kind, cloud: region };
  if (kind !== 'ec2') {
    throw new CloudKindError(`CONVERGE_CLOUD must be one of ${CLOUD_KINDS.join(', ')}, got '${kind}'`);
  }
  const key = [
    'CONVERGE_EC2_ENDPOINT',
    'AWS_REGION',
    'CONVERGE_EC2_RATE',
    'CONVERGE_EC2_BURST',
    'CONVERGE_EC2_IN_FLIGHT',
    'CONVERGE_EC2_VOLUME_TYPES',
  ]
    .map((k) => env[k] ?? '')
    .join('\u0000');
  if (cachedEc2?.key !== key) cachedEc2 = { key, ec2: ec2ComputeFromEnv(env) };
  const { ec2 } = cachedEc2;
  return { kind, cloud: joinCloud(ec2, new GuardedLedger(region, ec2)), ec2 };
}

/** A CONVERGE_CLOUD this build does not know: bad configuration (exit 2), not a cloud failure. */
export class CloudKindError extends UserError {
  override readonly name = 'CloudKindError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/**
 * The worker's start-up line about its cloud: EC2 answers a signed call (credentials and endpoint
 * work), or why not, in one line without a stack. The region needs no check here: its client reports
 * an unreachable region on the first call, and the region's own start says where it listens.
 */
export async function checkClouds(clouds: Clouds, env: Env = process.env): Promise<string> {
  if (clouds.ec2 === undefined)
    return `cloud: the region at ${env.CONVERGE_REGION_URL || DEFAULT_REGION_URL}`;
  const where = `EC2 ${env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'}${
    env.CONVERGE_EC2_ENDPOINT ? ` at ${env.CONVERGE_EC2_ENDPOINT}` : ''
  }`;
  try {
    const zones = await clouds.ec2.availabilityZones();
    return `cloud: ${where}, credentials accepted, zones ${zones.join(', ') || 'none listed'}; quota ledger at ${
      env.CONVERGE_REGION_URL || DEFAULT_REGION_URL
    }`;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new CloudUnreachable(`cannot use ${where}: ${why}`);
  }
}

/** The worker's cloud does not answer at start (credentials refused, endpoint down): exit 1. */
export class CloudUnreachable extends Error {
  override readonly name = 'CloudUnreachable';
}
