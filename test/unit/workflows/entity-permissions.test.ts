// The entity's validators with a trust root: they refuse before anything is accepted, and a nonce
// once admitted (by the update's handler) is refused again, also after continue-as-new.
import { describe, expect, it } from 'vitest';
import { DeploymentEntity } from '../../../src/workflows/deployment-entity';
import { newIdentity, signGrant, signRequest } from '../../../src/client/identity';
import { NonceStore } from '../../../src/workflows/signed-requests';
import { CLOCK_SKEW_MS } from '../../../src/domain/permissions';
import type { DeployRequest } from '../../../src/workflows/types';
import { cloudConfig as fixtureCloudConfig, smallManifest } from '../../support/fixtures';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const admin = newIdentity('admin');
const alice = {
  ...newIdentity('alice'),
  grants: [] as ReturnType<typeof signGrant>[],
};
const root = { ...newIdentity('root'), grants: [] as ReturnType<typeof signGrant>[] };
root.grants.push(
  signGrant(admin, {
    principal: 'root',
    key: root.publicKey,
    permission: 'CLOUD_ADMIN',
    pool: '*',
    expires: null,
  }),
);
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

describe('a deleted entity and its nonces', () => {
  /** web deployed (alice's signed deploy, accepted at NOW) and deleted (root's, a minute later). */
  function deletedWeb() {
    const made = entity();
    const { e, tick } = made;
    const captured = signRequest(alice, 'web', 'deploy', req, NOW);
    e.validateDeploy(req, captured);
    e.admit(captured);
    e.acceptDeploy(req);
    e.finish(e.takePending()!.ticket, null, 'test');
    tick(60_000);
    const del = signRequest(root, 'web', 'delete', {}, NOW + 60_000);
    e.validateDelete({}, del);
    e.admit(del);
    const ticket = e.accept('delete');
    e.takePending();
    e.finish(ticket, { status: 'converged', plan: null, records: [], projection: [] } as never, null);
    expect(e.state.deleted).toBe(true);
    return { ...made, captured, del };
  }

  it('must outlive the last nonce it holds (plus the clock skew), and need not when it holds none', () => {
    const { e, del, tick } = deletedWeb();
    expect(e.guardUntil()).toBe(del.claim.expires + CLOCK_SKEW_MS);
    tick(del.claim.expires - (NOW + 60_000)); // the last request has just expired: the skew is left
    expect(e.guardUntil()).toBe(del.claim.expires + CLOCK_SKEW_MS);
    tick(CLOCK_SKEW_MS);
    expect(e.guardUntil()).toBeNull();
    expect(entity().e.guardUntil()).toBeNull();
  });

  it('not lingering, it refuses everything as deleted; lingering, it takes a fresh deploy only', () => {
    const { e, captured } = deletedWeb();
    const fresh = signRequest(alice, 'web', 'deploy', req, NOW + 60_000);
    expect(() => e.validateDeploy(req, fresh)).toThrow('deployment web has been deleted');
    e.lingering = true;
    expect(() => e.validateDeploy(req, captured)).toThrow(
      "permission denied: alice's request was already used (a replayed request)",
    );
    expect(() => e.validateDeploy(req, fresh)).not.toThrow();
    const cancel = signRequest(root, 'web', 'cancel', {}, NOW + 60_000);
    expect(() => e.validateInterrupt('cancel', {}, cancel)).toThrow('deployment web has been deleted');
    const stop = signRequest(root, 'web', 'stop', {}, NOW + 60_000);
    expect(() => e.validateStop({}, stop)).toThrow('deployment web has been deleted');
  });

  it('the next incarnation starts as a new run would, but keeps the nonces', () => {
    const { e, captured } = deletedWeb();
    const nonces = [...e.state.nonces!];
    e.lingering = true;
    e.reincarnate('next');
    expect(e.lingering).toBe(false);
    expect(e.state).toMatchObject({
      name: 'web',
      records: [],
      manifest: null,
      manifestDigest: null,
      seq: 0,
      recent: [],
      projection: [],
      deleted: false,
      incarnation: 'next',
      events: [],
      eventSeq: 0,
    });
    expect(e.state.nonces).toEqual(nonces);
    expect(e.acceptDeploy(req).operation).toBe('op-1');
    expect(e.pending?.input.incarnation).toBe('next');
    expect(() => e.validateDeploy(req, captured)).toThrow('already used');
  });
});
