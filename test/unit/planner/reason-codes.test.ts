// Reason codes (reasons.ts reasonCode): every reason text the planner writes maps to a machine code,
// the way BOSH names its changes, and the `--json` plan carries both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reasonCode } from '../../../src/planner';
import { plan, scenarioArb, SEED } from '../../property/arbitraries';

describe('reasonCode', () => {
  it.each([
    ['new instance', 'new_instance'],
    ['missing VM', 'missing_vm'],
    ['missing VM (its last server is being deleted)', 'missing_vm'],
    ['failed server', 'failed_server'],
    ['--recreate', 'recreate'],
    ['detached (hard-stopped): VM deleted, instance and disk kept', 'detached'],
    ['orphan: a server tagged for the deployment that no instance owns', 'orphan'],
    ['stray allocation: no live server consumes it', 'stray_allocation'],
    ['stray volume: its instance no longer exists', 'stray_volume'],
    ['duplicate server s-2 of api/x: kept s-1 (ACTIVE)', 'duplicate'],
    ['server s-1 of api/x is being deleted: await it and release its quota', 'server_deleting'],
    ['server s-1 is being deleted: await it and release its quota', 'server_deleting'],
    ['stemcell 1.181 → 1.182', 'stemcell_changed'],
    ['stemcell ubuntu-jammy/1.181 → ubuntu-noble/1.1', 'stemcell_changed'],
    ['vm_type small → medium (cpus 2 → 4)', 'vm_type_changed'],
    ['az z1 → z2', 'az_changed'],
    ['group renamed api-old → api', 'group_renamed'],
    ['group api-old removed', 'group_removed'],
    ['scale down: api has 3 instances, index 3 goes', 'scale_down'],
    ['network default: subnet changed (10.0.0.0/24 → 10.1.0.0/24)', 'network_changed'],
    ['networks reordered (a, b → b, a)', 'network_changed'],
    ['env changed', 'env_changed'],
    ['cloud properties changed (fingerprint 1234abcd → 5678ef01)', 'cloud_properties_changed'],
    ['VM settings unknown (server carries no fingerprint)', 'vm_settings_unknown'],
    [
      'delete_create instead of hot_swap: static IP 10.0.0.10 cannot be held by two VMs',
      'static_ip_delete_create',
    ],
    [
      'waits for 10.0.0.25 held by server s-9 (squatter) of deployment other (deleting): the create retries until it is free, for at most 10 min (update.conflict_timeout_minutes)',
      'address_being_freed',
    ],
    ['something new', 'other'],
  ])('%s → %s', (reason, code) => {
    expect(reasonCode(reason)).toBe(code);
  });

  it('knows every reason the planner writes for generated deployments and disturbances', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const o = plan(s.world, s.next, 2, { recreate: s.recreate });
        const reasons = [...o.instances.flatMap((p) => p.reasons), ...o.steps.flatMap((st) => st.reasons)];
        expect(reasons.filter((r) => reasonCode(r) === 'other')).toEqual([]);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
