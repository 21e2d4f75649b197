// The EC2 compute adapter from the worker's environment. Credentials come from the SDK's default
// chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …) in the worker process only.
import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Compute } from './compute';
import { VOLUME_TYPES } from '../../domain/ec2-properties';

export { Ec2Compute, EC2_TAG, STEMCELL_TAG, stemcellImageName, type Ec2Stats } from './compute';
export { registerStemcellImage } from './stemcell-image';
export { checkCloudConfigForEc2, type PropertyProblem } from '../../domain/ec2-properties';

type Env = Record<string, string | undefined>;

export const DEFAULT_EC2_RATE = { perSecond: 20, burst: 100 };

/**
 * Longest a call waits for EC2's answer once sent (CONVERGE_EC2_REQUEST_TIMEOUT_MS). Without it a call
 * that never answers would hold its step until the activity's 15-minute start-to-close timeout, since
 * a step heartbeats while it waits. A timed-out call is Unavailable (retried); a create's retry finds
 * its instance by the idempotency tag or, on EC2, by its ClientToken.
 */
export const DEFAULT_EC2_REQUEST_TIMEOUT_MS = 120_000;

/**
 * CONVERGE_EC2_ENDPOINT (an EC2 API elsewhere, e.g. a local moto), AWS_REGION (default us-east-1),
 * CONVERGE_EC2_RATE and CONVERGE_EC2_BURST (the token bucket), CONVERGE_EC2_IN_FLIGHT (calls waiting
 * for answers at most), CONVERGE_EC2_REQUEST_TIMEOUT_MS (one answer's wait), CONVERGE_EC2_VOLUME_TYPES
 * (storage pools).
 */
export function ec2ComputeFromEnv(env: Env): Ec2Compute {
  // Node 20 is this project's pin (package.json engines). The SDK's notice that its releases after
  // January 2027 need Node 22 would add eight lines to every worker start; `false` shows it again.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = env.CONVERGE_EC2_ENDPOINT || undefined;
  const client = new EC2Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint }),
    // One attempt per call: throttles come back to the adapter, which counts them, and are retried by
    // the activities' own layers (in place, then Temporal's backoff) behind the token bucket.
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: Number(env.CONVERGE_EC2_REQUEST_TIMEOUT_MS) || DEFAULT_EC2_REQUEST_TIMEOUT_MS,
      connectionTimeout: 10_000,
      // The SDK only warns past requestTimeout unless told to end the call.
      throwOnRequestTimeout: true,
    },
  });
  const perSecond = Number(env.CONVERGE_EC2_RATE) || DEFAULT_EC2_RATE.perSecond;
  const burst = Number(env.CONVERGE_EC2_BURST) || DEFAULT_EC2_RATE.burst;
  const inFlight = Number(env.CONVERGE_EC2_IN_FLIGHT) || undefined;
  const types = env.CONVERGE_EC2_VOLUME_TYPES?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return new Ec2Compute({
    client,
    rate: { perSecond, burst },
    ...(inFlight === undefined ? {} : { inFlight }),
    volumeTypes: types && types.length > 0 ? types : VOLUME_TYPES,
  });
}
