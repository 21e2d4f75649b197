// The entity's validators with a trust root: they refuse before anything is accepted, and a nonce
// once admitted (by the update's handler) is refused again, also after continue-as-new.
import { describe, expect, it } from 'vitest';
import { DeploymentEntity } from '../../../src/workflows/deployment-entity';
import { newIdentity, signGrant, signRequest } from '../../../src/client/identity';
import { NonceStore } from '../../../src/workflows/signed-requests';
import type { DeployRequest } from '../../../src/workflows/types';
import { cloudConfig as fixtureCloudConfig, smallManifest } from '../../support/fixtures';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const admin = newIdentity('admin');
const alice = {
  ...newIdentity('alice'),
  grants: [] as ReturnType<typeof signGrant>[],
};
alice.grants.push(
  signGrant(admin, {
    principal: 'alice',
    key: alice.publicKey,
    permission: 'CLOUD_CREATE',
    pool: 'dev',
    expires: null,
  }),
);

const manifest = smallManifest('web');
const cloudConfig = fixtureCloudConfig();
const req: DeployRequest = { manifest, cloudConfig };

function entity(now = NOW, root: string | null = admin.publicKey, input = { name: 'web' }) {
  let clock = now;
  const e = new DeploymentEntity(input, 'inc', () => clock, root);
  return { e, tick: (ms: number) => (clock += ms) };
}

describe('DeploymentEntity permissions', () => {
  it('accepts a signed deploy once, then refuses the same request as replayed', () => {
    const { e } = entity();
    const auth = signRequest(alice, 'web', 'deploy', req, NOW);
    expect(() => e.validateDeploy(req, auth)).not.toThrow();
    e.admit(auth);
    e.acceptDeploy(req);
    e.takePending();
    e.finish(e.current!, null, 'test');
    expect(() => e.validateDeploy(req, auth)).toThrow(
      "permission denied: alice's request was already used (a replayed request)",
    );
  });

  it('keeps the nonces across continue-as-new (they travel in the state)', () => {
    const { e } = entity();
    const auth = signRequest(alice, 'web', 'deploy', req, NOW);
    e.admit(auth);
    const next = new DeploymentEntity({ name: 'web', state: e.state }, undefined, () => NOW, admin.publicKey);
    expect(() => next.validateDeploy(req, auth)).toThrow('already used');
  });

  it('refuses an unsigned deploy with a trust root and accepts it without one', () => {
    expect(() => entity().e.validateDeploy(req)).toThrow(
      'permission denied: the deploy request is not signed',
    );
    expect(() => entity(NOW, null).e.validateDeploy(req)).not.toThrow();
  });

  it('refuses a deploy into a pool the principal has no grant on, naming it', () => {
    const other = { ...req, manifest: { ...manifest, resource_pool: 'staging' } };
    const auth = signRequest(alice, 'web', 'deploy', other, NOW);
    expect(() => entity().e.validateDeploy(other, auth)).toThrow(
      "permission denied: alice lacks CLOUD_CREATE on resource pool 'staging'",
    );
  });

  it('forgets expired nonces, and refuses new ones when full of unexpired ones', () => {
    const store = new NonceStore([]);
    for (let i = 0; i < NonceStore.CAPACITY; i++) {
      store.remember(signRequest(alice, 'web', 'cancel', {}, NOW), NOW);
    }
    expect(store.hasRoom(NOW)).toBe(false);
    expect(store.hasRoom(NOW + 6 * 60_000)).toBe(true);
    store.remember(signRequest(alice, 'web', 'cancel', {}, NOW + 6 * 60_000), NOW + 6 * 60_000);
    expect(store.entries).toHaveLength(1);
  });
});
