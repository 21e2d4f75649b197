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

// Every code the adapter can meet is in exactly one of these sets (or matched by a family rule in
// fromEc2); test/unit/cloud/ec2-errors.test.ts holds the table and fails on a code decided by accident.

/** Throttling answers: retried in place (status 429, see activities/transient.ts) and counted. */
const THROTTLES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);
/** EC2 is short of something for now: another attempt (later, elsewhere) may get it. */
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientAddressCapacity',
  'InsufficientVolumeCapacity',
  'InsufficientCapacity',
]);
/** EC2's own failures, whatever the status the answer carried. */
const SERVER_SIDE = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable']);
/** Transport failures the SDK reports by the socket's code: no answer came back. */
const NO_ANSWER = new Set(['TimeoutError', 'AbortError', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
/** Credentials missing, refused or not allowed: a human must change something. */
const UNAUTHORIZED = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'RequestExpired',
  'CredentialsProviderError',
  'OptInRequired',
  'Blocked',
  'PendingVerification',
]);
/** Account limits: raising them is a support request, not a retry. */
const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'VolumeLimitExceeded',
  'MaxIOPSLimitExceeded',
  'AddressLimitExceeded',
  'NetworkInterfaceLimitExceeded',
  'ResourceLimitExceeded',
]);
/** Which of the ledger's resources an account limit is about (the rest count instances or their parts). */
const QUOTA_RESOURCE: Record<string, string> = {
  VcpuLimitExceeded: 'cpus',
  VolumeLimitExceeded: 'size_gb',
  MaxIOPSLimitExceeded: 'size_gb',
};
/**
 * Held by something else for now: usually a delete or detach still in flight, so the activities
 * retry within the step's conflict budget (update.conflict_timeout_minutes), then fail it. A subnet
 * out of addresses frees up as the replaced VMs go. IdempotentParameterMismatch: a create retried with
 * a new address pick after its first answer was lost; the retry's tag lookup finds the first instance.
 */
const CONFLICTS = new Set([
  'InvalidIPAddress.InUse',
  'InvalidNetworkInterface.InUse',
  'VolumeInUse',
  'DependencyViolation',
  'InsufficientFreeAddressesInSubnet',
  'IdempotentParameterMismatch',
]);
const INVALID_STATE = new Set(['IncorrectInstanceState', 'IncorrectState']);
/** The request itself is wrong (configuration not offered, unknown parameter): the same answer again. */
const INVALID = new Set(['MissingParameter', 'UnknownParameter', 'Unsupported', 'UnsupportedOperation']);

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
  if (SERVER_SIDE.has(code) || NO_ANSWER.has(code)) return new Unavailable(init);
  if (code.startsWith('InvalidAMIID.')) return new ImageNotFound(init);
  if (UNAUTHORIZED.has(code)) return new Unauthorized(init);
  if (QUOTA.has(code))
    return new QuotaExceeded({
      ...init,
      details: { resource: QUOTA_RESOURCE[code] ?? 'instances' },
    });
  if (CONFLICTS.has(code)) return new Conflict(init);
  if (code.endsWith('.NotFound')) return new NotFound(init);
  if (INVALID_STATE.has(code)) return new InvalidState(init);
  if (INVALID.has(code) || code.startsWith('Invalid')) return new Invalid(init);
  // No answer at all (refused, reset, timed out) or a server error: the cloud may answer later.
  if (status === 0 || status >= 500) return new Unavailable(init);
  // An odd 4xx nobody decided on: non-retryable (activities/failures.ts UNCLASSIFIED), never silent.
  return new CloudError(init);
}
