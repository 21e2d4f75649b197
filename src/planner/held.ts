// A static IP held outside the deployment. The cloud refuses a create-vm whose address another server
// has, and the step retries until that server is gone; a server of another deployment (or of none)
// goes only when someone else deletes it, so the create would wait until its conflict budget ends it,
// after the plan's earlier steps have already changed the deployment. BOSH refuses such a plan up
// front ("Failed to reserve IP ... already reserved by instance ... from deployment ..."); so does
// this, from the holders the operation's opening read learns (ComputePort.addressHolders). Pure.
// A holder already being deleted is not refused: its address frees without anyone's help, so the
// create waits for it (a reason on the step says so) within the same conflict budget.
// Holders of this deployment are liveness.ts's business: the plan may free them itself.
import { TAG, type AddressHolder } from '../domain/cloud';
import type { Manifest } from '../domain/manifest';
import type { Obligation, Step } from './types';

export interface HeldOutside {
  ip: string;
  network: string;
  /** The instance whose new VM needs the address: `<group>/<uuid>`. */
  instance: string;
  claim: string;
  holder: AddressHolder;
  message: string;
}

/** Every static IP the manifest's groups name, each once, in manifest order: what the opening read asks about. */
export function staticIpsOf(manifest: Manifest): string[] {
  const ips = manifest.instance_groups.flatMap((g) => g.networks.flatMap((n) => n.static_ips ?? []));
  return [...new Set(ips)];
}

/**
 * One refusal per create-vm (in step order) whose static IP a holder outside `deployment` has.
 *
 * Worked example: deployment web creates db/u1 (db/0) on 10.0.0.25, which server s-9 named
 * `squatter` of deployment other holds → "Failed to reserve IP 10.0.0.25 (network default) for
 * instance db/u1 (db/0): already reserved by server s-9 (squatter) of deployment other, outside
 * deployment web. ...". A holder of web itself is not refused here.
 */
export function heldOutside(
  deployment: string,
  steps: readonly Step[],
  holders: readonly AddressHolder[],
): HeldOutside[] {
  const outside = holdersOutside(deployment, holders, (h) => h.deleting !== true);
  const refused: HeldOutside[] = [];
  for (const s of steps) {
    if (s.kind !== 'create-vm' || s.spec.static_ip === null) continue;
    const holder = outside.get(s.spec.static_ip);
    if (!holder) continue;
    const ip = s.spec.static_ip;
    const network = s.spec.network;
    refused.push({
      ip,
      network,
      instance: s.instance,
      claim: s.claim,
      holder,
      message:
        `Failed to reserve IP ${ip} (network ${network}) for instance ${s.instance} (${s.claim}): ` +
        `already reserved by ${describe(holder)}, outside deployment ${deployment}. ` +
        `Free it there, or give ${s.claim} another static IP`,
    });
  }
  return refused;
}

export interface FreedSoon {
  /** The create-vm step that waits. */
  step: string;
  ip: string;
  instance: string;
  claim: string;
  holder: AddressHolder;
  /** The reason the step (and its instance's plan) carries. */
  reason: string;
}

/**
 * One wait per create-vm (in step order) whose static IP only holders outside `deployment` that are
 * being deleted have: not a refusal, the address frees by itself. The create's `ip_taken` is a
 * conflict, retried for `conflictMinutes` (update.conflict_timeout_minutes) from its first attempt,
 * then the step fails for good: a delete that never ends still ends the operation.
 *
 * Worked example: db/0 wants 10.0.0.25, held by server s-9 `squatter` of deployment other, DELETING,
 * budget 10 → "waits for 10.0.0.25 held by server s-9 (squatter) of deployment other (deleting): the
 * create retries until it is free, for at most 10 min (update.conflict_timeout_minutes)". A second
 * holder of the same address that is not being deleted makes it heldOutside's refusal instead.
 */
export function freedSoon(
  deployment: string,
  steps: readonly Step[],
  holders: readonly AddressHolder[],
  conflictMinutes: number,
): FreedSoon[] {
  const kept = holdersOutside(deployment, holders, (h) => h.deleting !== true);
  const going = holdersOutside(deployment, holders, (h) => h.deleting === true);
  const waits: FreedSoon[] = [];
  for (const s of steps) {
    if (s.kind !== 'create-vm' || s.spec.static_ip === null) continue;
    const ip = s.spec.static_ip;
    const holder = going.get(ip);
    if (!holder || kept.has(ip)) continue;
    waits.push({
      step: s.id,
      ip,
      instance: s.instance,
      claim: s.claim,
      holder,
      reason:
        `waits for ${ip} held by ${describe(holder)} (deleting): the create retries until it is free, ` +
        `for at most ${conflictMinutes} min (update.conflict_timeout_minutes)`,
    });
  }
  return waits;
}

/** The obligation with each wait's reason on its create step and on its instance's plan. */
export function withWaits(obligation: Obligation, waits: readonly FreedSoon[]): Obligation {
  if (waits.length === 0) return obligation;
  const byStep = new Map(waits.map((w) => [w.step, w.reason]));
  const byInstance = new Map(waits.map((w) => [w.instance, w.reason]));
  return {
    ...obligation,
    steps: obligation.steps.map((s) => {
      const reason = byStep.get(s.id);
      return reason === undefined ? s : { ...s, reasons: [...s.reasons, reason] };
    }),
    instances: obligation.instances.map((p) => {
      const reason = byInstance.get(p.instance);
      return reason === undefined ? p : { ...p, reasons: [...p.reasons, reason] };
    }),
  };
}

/** The first holder per address that is outside `deployment` and passes `which`. */
function holdersOutside(
  deployment: string,
  holders: readonly AddressHolder[],
  which: (h: AddressHolder) => boolean,
): Map<string, AddressHolder> {
  const outside = new Map<string, AddressHolder>();
  for (const h of holders) {
    if (h.tags[TAG.deployment] === deployment || outside.has(h.ip) || !which(h)) continue;
    outside.set(h.ip, h);
  }
  return outside;
}

/** `instance api/u7 (server s-3, api-0) of deployment other`, or `server s-9 (squatter), which no deployment claims`. */
function describe(h: AddressHolder): string {
  const group = h.tags[TAG.group];
  const instance = h.tags[TAG.instance];
  const named = h.name === '' ? '' : `, ${h.name}`;
  const who =
    group !== undefined && instance !== undefined
      ? `instance ${group}/${instance} (${h.kind} ${h.holder}${named})`
      : `${h.kind === 'server' ? 'server' : 'network interface'} ${h.holder}${h.name === '' ? '' : ` (${h.name})`}`;
  const deployment = h.tags[TAG.deployment];
  return deployment === undefined
    ? `${who}, which no deployment claims`
    : `${who} of deployment ${deployment}`;
}
