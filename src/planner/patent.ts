// The patent: every VM the manifest requires, resolved against the cloud config. Pure; newness is no
// concern here. The only input about the present is `placements`, so existing instances keep their AZ.
import type { CloudConfig, Subnet } from '../domain/cloud-config';
import { ValidationError } from '../domain/errors';
import type { InstanceRecord } from '../domain/instance';
import { parseCidr, parseIPv4 } from '../domain/ip';
import type { InstanceGroup, Manifest, VmStrategy } from '../domain/manifest';
import { adopt } from './adopt';
import { fingerprint, fingerprintFields } from './fingerprint';
import { placeAzs } from './placement';
import { groupPolicies } from './policy';
import type { Claim, ClaimNetwork, Patent, Placement } from './types';

export interface PatentOptions {
  /** Strategy for groups whose manifest chooses none. DESIGN: delete_create unless flagged. */
  defaultStrategy?: VmStrategy;
}

export function patent(
  manifest: Manifest,
  cloudConfig: CloudConfig,
  placements: readonly Placement[] = [],
  options: PatentOptions = {},
): Patent {
  const groups = groupPolicies(manifest, options.defaultStrategy ?? 'delete_create');
  const where = new Map<string, Map<number, string>>();
  for (const p of placements) {
    let byIndex = where.get(p.group);
    if (!byIndex) where.set(p.group, (byIndex = new Map<number, string>()));
    byIndex.set(p.index, p.az);
  }
  const claims: Claim[] = [];
  const warnings: string[] = [];
  manifest.instance_groups.forEach((group, g) => {
    const existing = where.get(group.name) ?? new Map<number, string>();
    // A loop, not push(...spread): a 50k-instance group would overflow the argument limit.
    for (const claim of groupClaims(manifest, cloudConfig, group, g, existing)) claims.push(claim);
  });
  return { deployment: manifest.name, resourcePool: manifest.resource_pool, claims, groups, warnings };
}

/**
 * Where the patent should keep existing instances: the AZ of the instance that will fill each
 * claim slot (after `migrated_from` adoption and scale down). Pass the result to `patent`.
 */
export function placementsFor(manifest: Manifest, records: readonly InstanceRecord[]): Placement[] {
  const shapes = manifest.instance_groups.map((g) => ({
    name: g.name,
    instances: g.instances,
    migratedFrom: (g.migrated_from ?? []).map((m) => m.name),
  }));
  const { slots } = adopt(shapes, records, (r) => r);
  const out: Placement[] = [];
  for (const row of slots.values()) {
    for (const slot of row) if (slot) out.push({ group: slot.group, index: slot.index, az: slot.item.az });
  }
  return out;
}

function bad(path: string, message: string): ValidationError {
  return new ValidationError([{ path, line: null, column: null, message, hint: null }]);
}

function groupClaims(
  manifest: Manifest,
  cc: CloudConfig,
  group: InstanceGroup,
  g: number,
  existing: ReadonlyMap<number, string>,
): Claim[] {
  const at = `instance_groups[${g}]`;
  const vmType = resolveVmType(cc, group.vm_type, `${at}.vm_type`);
  const stemcell = manifest.stemcells.find((s) => s.alias === group.stemcell);
  if (!stemcell) throw bad(`${at}.stemcell`, `unknown stemcell alias '${group.stemcell}'`);
  const persistentDisk = resolveDisk(cc, group, at);
  const networks = group.networks.map((n, i) => {
    const network = cc.networks.find((c) => c.name === n.name);
    if (!network) throw bad(`${at}.networks[${i}].name`, `unknown network '${n.name}'`);
    return { name: n.name, subnets: network.subnets, staticIps: n.static_ips ?? [] };
  });

  // A static IP pins its index to the AZs of the subnet that holds it.
  const allowed = (index: number): readonly string[] => {
    let azs: readonly string[] = group.azs;
    for (const n of networks) {
      const ip = n.staticIps[index];
      if (ip === undefined) continue;
      const subnet = n.subnets.find((s) => subnetHolds(s, ip));
      if (subnet) azs = azs.filter((az) => subnet.azs.includes(az));
    }
    return azs.length > 0 ? azs : group.azs;
  };
  const azs = placeAzs(group.azs, group.instances, existing, allowed);

  // Claims of one group differ only in AZ and static IPs: resolve and hash each distinct pair once.
  const memo = new Map<
    string,
    { networks: ClaimNetwork[]; fingerprint: string; azCloudProperties: Record<string, unknown> }
  >();
  const claims: Claim[] = [];
  for (let index = 0; index < group.instances; index++) {
    const az = azs[index] ?? '';
    const ips = networks.map((n) => n.staticIps[index] ?? null);
    const key = `${az}\u0000${ips.join(',')}`;
    let shared = memo.get(key);
    if (!shared) {
      const azDef = cc.azs.find((a) => a.name === az);
      if (!azDef) throw bad(`${at}.azs`, `unknown AZ '${az}'`);
      const claimNetworks = networks.map((n, i): ClaimNetwork => {
        const ip = ips[i] ?? null;
        const subnet = pickSubnet(n.subnets, az, ip);
        if (!subnet)
          throw bad(`${at}.networks[${i}]`, `network '${n.name}' has no subnet serving AZ '${az}'`);
        const cloudProperties = subnet.cloud_properties;
        return {
          name: n.name,
          subnet: subnet.range,
          staticIp: ip,
          ...(Object.keys(cloudProperties).length > 0 ? { cloudProperties } : {}),
          // The gateway is never a VM's address either (BOSH reserves it implicitly).
          addressing: { reserved: [subnet.gateway, ...subnet.reserved], static: subnet.static },
        };
      });
      const draft = {
        group: group.name,
        az,
        azCloudProperties: azDef.cloud_properties,
        vmType,
        stemcell: { alias: stemcell.alias, os: stemcell.os, version: stemcell.version },
        networks: claimNetworks,
        env: group.env,
      };
      shared = {
        networks: claimNetworks,
        fingerprint: fingerprint(fingerprintFields(draft)),
        azCloudProperties: azDef.cloud_properties,
      };
      memo.set(key, shared);
    }
    claims.push({
      id: `${group.name}/${index}`,
      group: group.name,
      index,
      az,
      azCloudProperties: shared.azCloudProperties,
      vmType,
      stemcell: { alias: stemcell.alias, os: stemcell.os, version: stemcell.version },
      networks: shared.networks,
      env: group.env,
      persistentDisk,
      bootstrap: index === 0,
      fingerprint: shared.fingerprint,
    });
  }
  return claims;
}

/** A preset `size` gives the base; cpus/memory_mb/disk_gb written on the vm_type override it. */
function resolveVmType(cc: CloudConfig, name: string, path: string): Claim['vmType'] {
  const type = cc.vm_types.find((t) => t.name === name);
  if (!type) throw bad(path, `unknown vm_type '${name}'`);
  const preset = type.size === undefined ? undefined : cc.vm_sizes[type.size];
  if (type.size !== undefined && !preset)
    throw bad(path, `vm_type '${name}' names unknown size '${type.size}'`);
  const cpus = type.cpus ?? preset?.cpus;
  const memory_mb = type.memory_mb ?? preset?.memory_mb;
  const disk_gb = type.disk_gb ?? preset?.disk_gb;
  if (cpus === undefined || memory_mb === undefined || disk_gb === undefined) {
    throw bad(path, `vm_type '${name}' needs a size or all of cpus, memory_mb, disk_gb`);
  }
  return { name, cpus, memory_mb, disk_gb, cloud_properties: type.cloud_properties };
}

function resolveDisk(cc: CloudConfig, group: InstanceGroup, at: string): Claim['persistentDisk'] {
  if (group.persistent_disk_type !== undefined) {
    const type = cc.disk_types.find((d) => d.name === group.persistent_disk_type);
    if (!type) throw bad(`${at}.persistent_disk_type`, `unknown disk type '${group.persistent_disk_type}'`);
    return { size_gb: type.disk_gb, type: type.name, cloud_properties: type.cloud_properties };
  }
  if (group.persistent_disk !== undefined)
    return { size_gb: group.persistent_disk, type: null, cloud_properties: {} };
  return null;
}

function subnetHolds(subnet: Subnet, ip: string): boolean {
  const cidr = parseCidr(subnet.range);
  const addr = parseIPv4(ip);
  return cidr !== null && addr !== null && cidr.first <= addr && addr <= cidr.last;
}

/** The subnet serving the AZ, in cloud-config order; with a static IP, the one holding that IP. */
function pickSubnet(subnets: readonly Subnet[], az: string, ip: string | null): Subnet | undefined {
  if (ip !== null) {
    const holding = subnets.filter((s) => subnetHolds(s, ip));
    return holding.find((s) => s.azs.includes(az)) ?? holding[0];
  }
  return subnets.find((s) => s.azs.includes(az));
}
