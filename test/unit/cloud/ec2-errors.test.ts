// Every EC2 error code the adapter can meet, decided on purpose: the SDK's own exception (as the
// client throws it for an answer with that code) → the typed cloud error → the Temporal failure the
// activities raise, retryable or not. A code added to errors.ts without a row here is still decided
// (families: Invalid*, *.NotFound, 5xx), but a row that changes its answer fails this table.
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toFailure } from '../../../src/activities/failures';
import { fromEc2 } from '../../../src/cloud/ec2/errors';

/** What the SDK throws for an EC2 error answer: its exception class, named by the code. */
function answer(code: string, status: number): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    message: `EC2 says ${code}`,
  });
}

/** What Node's HTTP layer throws when no answer comes back. */
function noAnswer(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
}

type Row = [code: string, status: number, error: string, failure: string, retryable: boolean];

const TABLE: Row[] = [
  // Throttles: counted, retried in place then with Temporal's backoff.
  ['RequestLimitExceeded', 503, 'Unavailable', 'Unavailable', true],
  ['Throttling', 400, 'Unavailable', 'Unavailable', true],
  ['ThrottlingException', 400, 'Unavailable', 'Unavailable', true],
  // Capacity: EC2 is short for now.
  ['InsufficientInstanceCapacity', 500, 'Unavailable', 'Unavailable', true],
  ['InsufficientHostCapacity', 500, 'Unavailable', 'Unavailable', true],
  ['InsufficientAddressCapacity', 500, 'Unavailable', 'Unavailable', true],
  ['InsufficientVolumeCapacity', 500, 'Unavailable', 'Unavailable', true],
  ['InsufficientCapacity', 500, 'Unavailable', 'Unavailable', true],
  // EC2's own failures, even when the status says otherwise.
  ['InternalError', 500, 'Unavailable', 'Unavailable', true],
  ['ServiceUnavailable', 503, 'Unavailable', 'Unavailable', true],
  ['Unavailable', 503, 'Unavailable', 'Unavailable', true],
  ['InternalFailure', 400, 'Unavailable', 'Unavailable', true],
  // Images.
  ['InvalidAMIID.NotFound', 400, 'ImageNotFound', 'ImageNotFound', false],
  ['InvalidAMIID.Malformed', 400, 'ImageNotFound', 'ImageNotFound', false],
  ['InvalidAMIID.Unavailable', 400, 'ImageNotFound', 'ImageNotFound', false],
  // Credentials and permissions.
  ['UnauthorizedOperation', 403, 'Unauthorized', 'Unauthorized', false],
  ['AuthFailure', 401, 'Unauthorized', 'Unauthorized', false],
  ['InvalidClientTokenId', 403, 'Unauthorized', 'Unauthorized', false],
  ['SignatureDoesNotMatch', 403, 'Unauthorized', 'Unauthorized', false],
  ['ExpiredToken', 400, 'Unauthorized', 'Unauthorized', false],
  ['RequestExpired', 400, 'Unauthorized', 'Unauthorized', false],
  ['OptInRequired', 401, 'Unauthorized', 'Unauthorized', false],
  ['Blocked', 403, 'Unauthorized', 'Unauthorized', false],
  ['PendingVerification', 401, 'Unauthorized', 'Unauthorized', false],
  ['CredentialsProviderError', 0, 'Unauthorized', 'Unauthorized', false],
  // Account limits.
  ['InstanceLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['VcpuLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['VolumeLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['MaxIOPSLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['AddressLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['NetworkInterfaceLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  ['ResourceLimitExceeded', 400, 'QuotaExceeded', 'QuotaExceeded', false],
  // Held by something else for now: retried within the step's conflict budget.
  ['InvalidIPAddress.InUse', 400, 'Conflict', 'Conflict', true],
  ['InvalidNetworkInterface.InUse', 400, 'Conflict', 'Conflict', true],
  ['VolumeInUse', 400, 'Conflict', 'Conflict', true],
  ['DependencyViolation', 400, 'Conflict', 'Conflict', true],
  ['InsufficientFreeAddressesInSubnet', 400, 'Conflict', 'Conflict', true],
  ['IdempotentParameterMismatch', 400, 'Conflict', 'Conflict', true],
  // Gone outside a delete (deletes treat these as done before they reach here): re-plan.
  ['InvalidInstanceID.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidVolume.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidSubnetID.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidGroup.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidKeyPair.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidAttachment.NotFound', 400, 'NotFound', 'NotFound', false],
  ['InvalidNetworkInterfaceID.NotFound', 400, 'NotFound', 'NotFound', false],
  // The resource's state forbids the action.
  ['IncorrectInstanceState', 400, 'InvalidState', 'InvalidState', false],
  ['IncorrectState', 400, 'InvalidState', 'InvalidState', false],
  // The request is wrong: the same answer again.
  ['InvalidParameterValue', 400, 'Invalid', 'InvalidInput', false],
  ['InvalidParameterCombination', 400, 'Invalid', 'InvalidInput', false],
  ['InvalidParameter', 400, 'Invalid', 'InvalidInput', false],
  ['InvalidInstanceID.Malformed', 400, 'Invalid', 'InvalidInput', false],
  ['InvalidVolume.ZoneMismatch', 400, 'Invalid', 'InvalidInput', false],
  ['InvalidBlockDeviceMapping', 400, 'Invalid', 'InvalidInput', false],
  ['MissingParameter', 400, 'Invalid', 'InvalidInput', false],
  ['UnknownParameter', 400, 'Invalid', 'InvalidInput', false],
  ['Unsupported', 400, 'Invalid', 'InvalidInput', false],
  ['UnsupportedOperation', 400, 'Invalid', 'InvalidInput', false],
  // Nobody decided on this 4xx: non-retryable and visible, never silently retried forever.
  ['SomethingNew', 400, 'CloudError', 'CloudError', false],
  // A 5xx nobody named: the cloud may answer later.
  ['SomethingBroke', 502, 'Unavailable', 'Unavailable', true],
];

describe('EC2 error codes → typed errors → failures', () => {
  it.each(TABLE)('%s (HTTP %i) → %s → %s, retryable %s', (code, status, error, failure, retryable) => {
    const typed = fromEc2(answer(code, status), 'RunInstances');
    expect(typed.constructor.name).toBe(error);
    expect(typed.code).toBe(code);
    expect(typed.retryable).toBe(error === 'Unavailable');
    const f = toFailure(typed, 'create-vm api/0');
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect((f as ApplicationFailure).type).toBe(failure);
    expect((f as ApplicationFailure).nonRetryable).toBe(!retryable);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])(
    'no answer (%s) is Unavailable, retryable',
    (code) => {
      const typed = fromEc2(noAnswer(code), 'DescribeInstances');
      expect(typed.constructor.name).toBe('Unavailable');
      expect((toFailure(typed, 'observe') as ApplicationFailure).nonRetryable).toBe(false);
    },
  );

  it('throttles count as 429 (the in-place retry looks at the status)', () => {
    expect(fromEc2(answer('RequestLimitExceeded', 503), 'RunInstances').status).toBe(429);
  });

  it('account limits name the ledger resource they are about', () => {
    const resource = (code: string): unknown => fromEc2(answer(code, 400), 'RunInstances').details.resource;
    expect(resource('VcpuLimitExceeded')).toBe('cpus');
    expect(resource('InstanceLimitExceeded')).toBe('instances');
    expect(resource('VolumeLimitExceeded')).toBe('size_gb');
  });

  it('the message carries the action, the code and EC2’s words only, never the request', () => {
    const err = answer('UnauthorizedOperation', 403);
    Object.assign(err, { $metadata: { ...err.$metadata, extendedRequestId: 'Authorization: AWS4 secret' } });
    const typed = fromEc2(err, 'RunInstances');
    expect(typed.message).toBe('RunInstances: UnauthorizedOperation: EC2 says UnauthorizedOperation');
  });
});
