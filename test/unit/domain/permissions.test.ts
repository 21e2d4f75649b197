// The pure permission check: each case changes one thing of a baseline request that is allowed, and
// asserts the exact refusal.
import { describe, expect, it } from 'vitest';
import {
  authorize,
  claimMessage,
  sign,
  type RequestContext,
  type SignedRequest,
} from '../../../src/domain/permissions';
import { newIdentity, signGrant, signRequest, type Identity } from '../../../src/client/identity';
import { requestDigest } from '../../../src/workflows/signed-requests';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const admin = newIdentity('admin');
const alice = newIdentity('alice');
const request = { manifest: { name: 'web', resource_pool: 'prod' }, cloudConfig: {} };

function granted(who: Identity, permission: 'CLOUD_CREATE' | 'CLOUD_ADMIN', pool: string, by = admin) {
  return {
    ...who,
    grants: [
      signGrant(by, { principal: who.principal, key: who.publicKey, permission, pool, expires: null }),
    ],
  };
}

const context = (over: Partial<RequestContext> = {}): RequestContext => ({
  trustRoot: admin.publicKey,
  deployment: 'web',
  request: 'deploy',
  digest: requestDigest(request),
  pools: ['prod'],
  now: NOW,
  seen: () => false,
  ...over,
});

const baseline = (): SignedRequest =>
  signRequest(granted(alice, 'CLOUD_CREATE', 'prod'), 'web', 'deploy', request, NOW);

const reason = (signed: unknown, ctx = context()): string => {
  const v = authorize(signed, ctx);
  return v.ok ? 'allowed' : v.reason;
};

describe('authorize', () => {
  it('allows a request signed by a key with a grant from the trust root', () => {
    expect(authorize(baseline(), context())).toMatchObject({ ok: true, principal: 'alice' });
  });

  it('CLOUD_ADMIN implies CLOUD_CREATE, and * matches every pool', () => {
    const signed = signRequest(granted(alice, 'CLOUD_ADMIN', '*'), 'web', 'deploy', request, NOW);
    expect(reason(signed)).toBe('allowed');
  });

  it.each<[string, () => unknown, RequestContext, string]>([
    [
      'missing',
      () => undefined,
      context(),
      "permission denied: the deploy request is not signed; this worker enforces permissions (create a key with 'converge auth keygen' and ask an admin for a grant)",
    ],
    [
      'malformed',
      () => ({ principal: 'alice' }),
      context(),
      "permission denied: the deploy request's signature block is malformed",
    ],
    [
      'forged: signed by another key than the one it names',
      () => ({ ...baseline(), signature: signRequest(admin, 'web', 'deploy', request, NOW).signature }),
      context(),
      'permission denied: the request signature does not verify for alice',
    ],
    [
      'forged: the principal renamed after signing',
      () => ({ ...baseline(), principal: 'root' }),
      context(),
      'permission denied: the request signature does not verify for root',
    ],
    [
      'forged: a grant signed by a key that is not the trust root',
      () => signRequest(granted(alice, 'CLOUD_CREATE', 'prod', alice), 'web', 'deploy', request, NOW),
      context(),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'prod'",
    ],
    [
      'forged: a grant edited to another pool',
      () => {
        const s = baseline();
        const g = s.grants[0];
        return g ? { ...s, grants: [{ ...g, grant: { ...g.grant, pool: 'dev' } }] } : s;
      },
      context({ pools: ['dev'] }),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'dev'",
    ],
    [
      'expired',
      baseline,
      context({ now: NOW + 6 * 60_000 }),
      "permission denied: alice's request expired at 2026-12-05T12:05:00.000Z",
    ],
    [
      'replayed (nonce already accepted)',
      baseline,
      context({ seen: () => true }),
      "permission denied: alice's request was already used (a replayed request)",
    ],
    [
      'another deployment',
      baseline,
      context({ deployment: 'db' }),
      "permission denied: alice's request was signed for deployment 'web', not 'db'",
    ],
    [
      'another request kind',
      baseline,
      context({ request: 'delete' }),
      "permission denied: alice's request was signed for deploy, not delete",
    ],
    [
      'other inputs than signed',
      baseline,
      context({ digest: requestDigest({ ...request, recreate: true }) }),
      "permission denied: alice's request does not match what was signed",
    ],
    [
      'wrong pool',
      baseline,
      context({ pools: ['staging'] }),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'staging'",
    ],
    [
      'CLOUD_CREATE is not CLOUD_ADMIN',
      () => signRequest(granted(alice, 'CLOUD_CREATE', 'prod'), 'web', 'delete', {}, NOW),
      context({ request: 'delete', digest: requestDigest({}) }),
      "permission denied: alice lacks CLOUD_ADMIN on resource pool 'prod'",
    ],
    [
      'a deploy that moves pools needs both',
      baseline,
      context({ pools: ['prod', 'old'] }),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'old'",
    ],
    [
      'an expired grant',
      () => {
        const a = {
          ...alice,
          grants: [
            signGrant(admin, {
              principal: 'alice',
              key: alice.publicKey,
              permission: 'CLOUD_CREATE',
              pool: 'prod',
              expires: NOW - 1,
            }),
          ],
        };
        return signRequest(a, 'web', 'deploy', request, NOW);
      },
      context(),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'prod'",
    ],
    [
      "another principal's grant",
      () => {
        const bob = granted(newIdentity('bob'), 'CLOUD_ADMIN', '*');
        return signRequest({ ...alice, grants: bob.grants }, 'web', 'deploy', request, NOW);
      },
      context(),
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'prod'",
    ],
  ])('refuses %s', (_name, make, ctx, expected) => {
    expect(reason(make(), ctx)).toBe(expected);
  });

  it('refuses a request that would live longer than the window (a capture kept for later)', () => {
    const claim = { ...baseline().claim, expires: NOW + 60 * 60_000 };
    const signature = sign(claimMessage('alice', alice.publicKey, claim), alice.secretKey);
    const signed = { ...baseline(), claim, signature };
    expect(reason(signed)).toBe("permission denied: alice's request lives longer than 10 minutes");
  });
});
