// A static IP held outside the deployment (held.ts): a new VM whose address a server of another
// deployment (or of none) holds is refused, naming the IP, the instance and the holder; holders of
// the deployment itself, addresses nobody needs and VMs that are not created are not. A holder being
// deleted is no refusal: the create waits for it, and the plan says so on the step and the instance.
import { describe, expect, it } from 'vitest';
import { TAG, type AddressHolder } from '../../../src/domain/cloud';
import type { ManifestInput } from '../../../src/domain/manifest';
import { freedSoon, heldOutside, staticIpsOf, withWaits } from '../../../src/planner/held';
import { reasonCode } from '../../../src/planner/reasons';
import { cloudWith, deployed, instanceOf, manifestWith, plan } from './baseline';

/** Group `db` of one instance per static IP, and `web` with none. */
function withDb(ips: string[]) {
  return manifestWith((m) => {
    const g = (name: string, staticIps: string[] | null, instances: number) => ({
      name,
      instances,
      azs: ['z1'],
      vm_type: 'small',
      stemcell: 'default',
      networks: [staticIps ? { name: 'default', static_ips: staticIps } : { name: 'default' }],
      env: {},
    });
    const groups: ManifestInput['instance_groups'] = [g('web', null, 1), g('db', ips, ips.length)];
    m.instance_groups = groups;
  });
}

const cc = cloudWith();
const empty = { observed: { servers: [], allocations: [], volumes: [] }, records: [] };
const holder = (ip: string, tags: Record<string, string>, extra: Partial<AddressHolder> = {}) => ({
  ip,
  kind: 'server' as const,
  holder: 's-9',
  name: 'squatter',
  tags,
  ...extra,
});

describe('heldOutside', () => {
  const m = withDb(['10.0.0.25', '10.0.0.26']);
  const o = plan(empty, m, cc);
  const db0 = instanceOf(o, 'db/0')?.instance ?? '?';

  it.each([
    [
      'a server of another deployment',
      holder('10.0.0.25', { [TAG.deployment]: 'other' }),
      'server s-9 (squatter) of deployment other',
    ],
    [
      'an instance of another deployment, named by its group and uuid',
      holder('10.0.0.25', { [TAG.deployment]: 'other', [TAG.group]: 'api', [TAG.instance]: 'u7' }),
      'instance api/u7 (server s-9, squatter) of deployment other',
    ],
    [
      'a server no deployment claims',
      holder('10.0.0.25', {}),
      'server s-9 (squatter), which no deployment claims',
    ],
    [
      'a network interface attached to no instance (EC2)',
      holder('10.0.0.25', {}, { kind: 'interface', holder: 'eni-1', name: '' }),
      'network interface eni-1, which no deployment claims',
    ],
  ])('%s: refused, naming the IP, the instance and the holder', (_what, h, who) => {
    expect(heldOutside('web', o.steps, [h])).toEqual([
      {
        ip: '10.0.0.25',
        network: 'default',
        instance: db0,
        claim: 'db/0',
        holder: h,
        message:
          `Failed to reserve IP 10.0.0.25 (network default) for instance ${db0} (db/0): already reserved by ` +
          `${who}, outside deployment web. Free it there, or give db/0 another static IP`,
      },
    ]);
  });

  it('both addresses held: one refusal each, in step order', () => {
    const found = heldOutside('web', o.steps, [
      holder('10.0.0.26', { [TAG.deployment]: 'other' }),
      holder('10.0.0.25', { [TAG.deployment]: 'other' }),
    ]);
    const creates = o.steps.flatMap((s) => (s.kind === 'create-vm' && s.spec.static_ip ? [s] : []));
    expect(creates).toHaveLength(2);
    expect(found.map((f) => [f.claim, f.ip])).toEqual(creates.map((s) => [s.claim, s.spec.static_ip]));
  });

  it('a holder of the deployment itself is not refused here (liveness.ts orders or refuses it)', () => {
    expect(heldOutside('web', o.steps, [holder('10.0.0.25', { [TAG.deployment]: 'web' })])).toEqual([]);
  });

  it('an address held outside that no new VM needs: nothing', () => {
    expect(heldOutside('web', o.steps, [holder('10.0.0.99', { [TAG.deployment]: 'other' })])).toEqual([]);
  });

  it('a redeploy that creates no VM (the instance holds its own address): nothing', () => {
    const world = deployed(m, cc);
    const again = plan(world, m, cc, { operationSeq: 2 });
    expect(again.steps.filter((s) => s.kind === 'create-vm')).toEqual([]);
    const own = world.observed.servers.find((s) => s.addresses.some((a) => a.ip === '10.0.0.25'));
    expect(own).toBeDefined();
    // Even a holder answer that forgot its tags is harmless when nothing is created.
    expect(heldOutside('web', again.steps, [holder('10.0.0.25', {})])).toEqual([]);
  });
});

describe('freedSoon: a holder outside the deployment that is being deleted', () => {
  const m = withDb(['10.0.0.25', '10.0.0.26']);
  const o = plan(empty, m, cc);
  const db0 = instanceOf(o, 'db/0');
  const create0 = o.steps.find((s) => s.kind === 'create-vm' && s.claim === 'db/0');
  const going = holder('10.0.0.25', { [TAG.deployment]: 'other' }, { deleting: true });
  const kept = holder('10.0.0.25', { [TAG.deployment]: 'other' }, { holder: 's-8', name: 'keeper' });
  const reason =
    'waits for 10.0.0.25 held by server s-9 (squatter) of deployment other (deleting): the create ' +
    'retries until it is free, for at most 10 min (update.conflict_timeout_minutes)';

  it.each([
    ['a server of another deployment', going, reason],
    [
      'a server no deployment claims, with a 2.5 min budget',
      holder('10.0.0.25', {}, { deleting: true }),
      'waits for 10.0.0.25 held by server s-9 (squatter), which no deployment claims (deleting): the create ' +
        'retries until it is free, for at most 2.5 min (update.conflict_timeout_minutes)',
    ],
  ])('%s: not refused; the create waits, with its reason', (_what, h, why) => {
    const minutes = why.includes('2.5 min') ? 2.5 : 10;
    expect(heldOutside('web', o.steps, [h])).toEqual([]);
    expect(freedSoon('web', o.steps, [h], minutes)).toEqual([
      { step: create0?.id, ip: '10.0.0.25', instance: db0?.instance, claim: 'db/0', holder: h, reason: why },
    ]);
    expect(reasonCode(why)).toBe('address_being_freed');
  });

  it.each([
    ['the deleting one listed first', [going, kept]],
    ['the kept one listed first', [kept, going]],
  ])('the same address also held by a server that is not being deleted (%s): refused, no wait', (_w, hs) => {
    expect(freedSoon('web', o.steps, hs, 10)).toEqual([]);
    expect(heldOutside('web', o.steps, hs).map((r) => r.holder.holder)).toEqual(['s-8']);
  });

  it('a holder of the deployment itself, even deleting, is none of its business (liveness.ts)', () => {
    const own = holder('10.0.0.25', { [TAG.deployment]: 'web' }, { deleting: true });
    expect(freedSoon('web', o.steps, [own], 10)).toEqual([]);
  });

  it('deleting: false, or absent (an answer from before the field), still refuses', () => {
    const no = holder('10.0.0.25', { [TAG.deployment]: 'other' }, { deleting: false });
    expect(freedSoon('web', o.steps, [no], 10)).toEqual([]);
    expect(heldOutside('web', o.steps, [no])).toHaveLength(1);
    expect(heldOutside('web', o.steps, [holder('10.0.0.25', { [TAG.deployment]: 'other' })])).toHaveLength(1);
  });

  it('withWaits puts the reason on the create step and its instance plan, and nowhere else', () => {
    const waited = withWaits(o, freedSoon('web', o.steps, [going], 10));
    const changedSteps = waited.steps.filter((s, i) => s !== o.steps[i]);
    expect(changedSteps.map((s) => [s.id, s.reasons.at(-1)])).toEqual([[create0?.id, reason]]);
    expect(changedSteps[0]?.reasons.slice(0, -1)).toEqual(create0?.reasons);
    const changedPlans = waited.instances.filter((p, i) => p !== o.instances[i]);
    expect(changedPlans.map((p) => [p.claim, p.reasons.at(-1)])).toEqual([['db/0', reason]]);
    // Nothing else moves: same steps, same order, same dependencies.
    expect(waited.steps.map((s) => [s.id, s.dependsOn])).toEqual(o.steps.map((s) => [s.id, s.dependsOn]));
    expect(withWaits(o, [])).toBe(o);
  });
});

describe('staticIpsOf', () => {
  it('every static IP of every group, once, in manifest order', () => {
    const m = withDb(['10.0.0.26', '10.0.0.25']);
    const g = m.instance_groups[0];
    if (g) g.networks = [{ name: 'default', static_ips: ['10.0.0.30', '10.0.0.25'] }];
    expect(staticIpsOf(m)).toEqual(['10.0.0.30', '10.0.0.25', '10.0.0.26']);
    expect(staticIpsOf(withDb([]))).toEqual([]);
  });
});
