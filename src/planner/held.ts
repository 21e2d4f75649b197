// A static IP held outside the deployment. The cloud refuses a create-vm whose address another server
// has, and the step retries until that server is gone; a server of another deployment (or of none)
// goes only when someone else deletes it, so the create would wait until its conflict budget ends it,
// after the plan's earlier steps have already changed the deployment. BOSH refuses such a plan up
// front ("Failed to reserve IP ... already reserved by instance ... from deployment ..."); so does
// this, from the holders the operation's opening read learns (ComputePort.addressHolders). Pure.
// Holders of this deployment are liveness.ts's business: the plan may free them itself.
import { TAG, type AddressHolder } from '../domain/cloud';
import type { Manifest } from '../domain/manifest';
import type { Step } from './types';

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
  const outside = new Map<string, AddressHolder>();
  for (const h of holders) {
    if (h.tags[TAG.deployment] === deployment || outside.has(h.ip)) continue;
    outside.set(h.ip, h);
  }
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
