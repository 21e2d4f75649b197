// EC2's error codes into the typed cloud errors the activities already decide on (src/cloud/errors.ts).
// Only the code and EC2's own message are kept: the SDK's error also carries the request's metadata,
// and nothing from the request (credentials, signatures) may reach a message, a log or a history.
import {
  CloudError,
  Conflict,
  ImageNotFound,
  Invalid,
  InvalidState,
  NotFound,
  QuotaExceeded,
  Unauthorized,
  Unavailable,
  type CloudErrorInit,
} from '../errors';

/** Throttling answers: retried in place (status 429, see activities/transient.ts) and counted. */
const THROTTLES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientAddressCapacity',
  'InsufficientVolumeCapacity',
]);
const UNAUTHORIZED = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'CredentialsProviderError',
]);
const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'VolumeLimitExceeded',
  'MaxIOPSLimitExceeded',
]);

export function isThrottle(code: string): boolean {
  return THROTTLES.has(code);
}

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  Code?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The EC2 error code of whatever the SDK threw (its name), or a transport code. */
export function ec2Code(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'unknown';
  const e = err as SdkErrorShape;
  for (const c of [e.Code, e.name, e.code]) if (typeof c === 'string' && c !== '' && c !== 'Error') return c;
  return 'unknown';
}

export function fromEc2(err: unknown, what: string): CloudError {
  if (err instanceof CloudError) return err;
  const code = ec2Code(err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 0;
  const said = typeof e.message === 'string' ? e.message : String(err);
  const init: CloudErrorInit = { code, status, message: `${what}: ${code}: ${said}` };
  if (THROTTLES.has(code)) return new Unavailable({ ...init, status: 429 });
  if (CAPACITY.has(code)) return new Unavailable({ ...init, status: status || 503 });
  if (code.startsWith('InvalidAMIID.')) return new ImageNotFound(init);
  if (UNAUTHORIZED.has(code)) return new Unauthorized(init);
  if (QUOTA.has(code))
    return new QuotaExceeded({
      ...init,
      details: { resource: code === 'VcpuLimitExceeded' ? 'cpus' : 'instances' },
    });
  if (code.endsWith('.NotFound')) return new NotFound(init);
  if (code === 'InvalidIPAddress.InUse' || code === 'VolumeInUse' || code === 'InvalidNetworkInterface.InUse')
    return new Conflict(init);
  if (code === 'IncorrectInstanceState' || code === 'IncorrectState') return new InvalidState(init);
  if (code === 'IdempotentParameterMismatch') return new Conflict(init);
  if (code.startsWith('InvalidParameter') || code.startsWith('Invalid') || code === 'MissingParameter')
    return new Invalid(init);
  // No answer at all (refused, reset, timed out) or a server error: the cloud may answer later.
  if (status === 0 || status >= 500) return new Unavailable(init);
  return new CloudError(init);
}
