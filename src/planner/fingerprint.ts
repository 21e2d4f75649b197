// The claim fingerprint: a hash of exactly the fields that force a new VM (DESIGN §4).
import { canonicalJson } from './canonical';
import { sha256Hex } from './hash';
import type { Claim } from './types';

export type FingerprintInput = Pick<
  Claim,
  'group' | 'az' | 'azCloudProperties' | 'vmType' | 'stemcell' | 'networks' | 'env'
>;

/** What the fingerprint hashes. Every member forces a new VM when it changes. */
export interface FingerprintFields {
  /** The group name: a rename (even with migrated_from) re-creates the VM under its new name. */
  group: string;
  /** The resolved size and cloud properties, not the vm_type's name (see below). */
  vm_type: { cpus: number; memory_mb: number; disk_gb: number; cloud_properties: Record<string, unknown> };
  /** The AZ's name (the cloud places servers by it) and its cloud properties. */
  az: { name: string; cloud_properties: Record<string, unknown> };
  stemcell: { os: string; version: string };
  /** In manifest order: the first network is the VM's primary interface. */
  networks: { name: string; subnet: string; static_ip: string | null }[];
  env: Record<string, unknown>;
}

/**
 * The fingerprint's view of a claim. Left out, on purpose:
 * - `vmType.name` and `stemcell.alias`: labels. Renaming a vm_type or alias with the same content
 *   must not replace a VM; a real size change still shows in cpus/memory_mb/disk_gb.
 * - `index`, `id`, `bootstrap`: identity and role, not VM shape. An instance adopted under a new
 *   index (migrated_from) keeps its VM unless something else changed.
 * - `persistentDisk`: a disk change never forces a new VM (the volume is attached, not built in).
 * - The update policy, the deployment name and resource pool, callbacks: how and where we deploy,
 *   not what the VM is. (A resource pool change would need quota re-allocation: see README TODO.)
 * - Everything of the cloud config no claim resolves to (other vm_types, sizes, AZs, networks,
 *   subnets, disk types) and, of the subnet used, everything but its range (gateway, dns, reserved,
 *   static ranges, subnet cloud_properties): they are not part of the claim, so editing them cannot
 *   change a fingerprint.
 */
export function fingerprintFields(claim: FingerprintInput): FingerprintFields {
  const { cpus, memory_mb, disk_gb, cloud_properties } = claim.vmType;
  return {
    group: claim.group,
    vm_type: { cpus, memory_mb, disk_gb, cloud_properties },
    az: { name: claim.az, cloud_properties: claim.azCloudProperties },
    stemcell: { os: claim.stemcell.os, version: claim.stemcell.version },
    networks: claim.networks.map((n) => ({ name: n.name, subnet: n.subnet, static_ip: n.staticIp })),
    env: claim.env,
  };
}

/** sha256 (hex) of the canonical JSON of the fields. Accepts a claim or its fields. */
export function fingerprint(input: FingerprintInput | FingerprintFields): string {
  const fields = 'vmType' in input ? fingerprintFields(input) : input;
  return sha256Hex(canonicalJson(fields));
}
