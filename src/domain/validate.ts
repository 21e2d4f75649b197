// Consistency checks the schemas cannot express: names that must exist or be unique, IPs that must fit
// their ranges. Each finding names the field to fix; all findings are collected, never just the first.
// Pure (workflow update validators run these too).
import type { CloudConfig, Network, Subnet, VmType } from './cloud-config';
import { formatPath, ValidationError, type PathSegment, type Problem } from './errors';
import {
  formatIPv4,
  formatIpRange,
  inAnyRange,
  parseCidr,
  parseIpRange,
  parseIPv4,
  rangeContains,
  rangesOverlap,
  type IpRange,
} from './ip';
import type { Manifest } from './manifest';
import type { Parsed, SourceDocument } from './load';
import { didYouMean } from './suggest';

/** A problem before it is placed in a file: a path inside one document. */
export interface Finding {
  path: PathSegment[];
  message: string;
  hint?: string | null;
  /** Point at the key rather than its value. */
  atKey?: boolean;
}

/** A finding in a deployment check, saying which of the two documents it is in. */
export interface DeploymentFinding extends Finding {
  file: 'manifest' | 'cloudConfig';
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** "(expected one of: small, medium)", trimmed when long. */
function oneOf(all: readonly string[]): string {
  const names = [...new Set(all)];
  if (names.length === 0) return '(none are defined)';
  const shown = names.length > 12 ? [...names.slice(0, 12), '…'] : names;
  return `(expected one of: ${shown.join(', ')})`;
}

/** Report every repeat of a name after its first use. */
function duplicates(
  items: readonly { name: string }[],
  pathOf: (index: number) => PathSegment[],
  what: string,
): Finding[] {
  const firstIndex = new Map<string, number>();
  const findings: Finding[] = [];
  items.forEach((item, index) => {
    const first = firstIndex.get(item.name);
    if (first === undefined) firstIndex.set(item.name, index);
    else
      findings.push({
        path: pathOf(index),
        message: `duplicate ${what} '${item.name}' (already defined at ${formatPath(pathOf(first))})`,
      });
  });
  return findings;
}

function unknownName(path: PathSegment[], what: string, name: string, known: readonly string[]): Finding {
  return { path, message: `unknown ${what} '${name}' ${oneOf(known)}`, hint: didYouMean(name, known) };
}

// ---------------------------------------------------------------------------------------------
// Manifest on its own

export function manifestProblems(manifest: Manifest): Finding[] {
  const findings: Finding[] = [];
  const groups = manifest.instance_groups;

  findings.push(...duplicates(groups, (i) => ['instance_groups', i, 'name'], 'instance group name'));
  findings.push(
    ...duplicates(
      manifest.stemcells.map((s) => ({ name: s.alias })),
      (i) => ['stemcells', i, 'alias'],
      'stemcell alias',
    ),
  );

  const aliases = manifest.stemcells.map((s) => s.alias);
  const groupNames = new Set(groups.map((g) => g.name));
  const migratedBy = new Map<string, number>();
  const staticOwner = new Map<number, PathSegment[]>();

  groups.forEach((group, g) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['instance_groups', g, ...rest];

    if (!aliases.includes(group.stemcell)) {
      findings.push(unknownName(at('stemcell'), 'stemcell alias', group.stemcell, aliases));
    }
    if (group.persistent_disk !== undefined && group.persistent_disk_type !== undefined) {
      findings.push({
        path: at('persistent_disk_type'),
        message: `set either persistent_disk (${group.persistent_disk} GiB) or persistent_disk_type ('${group.persistent_disk_type}'), not both`,
      });
    }
    group.azs.forEach((az, a) => {
      if (group.azs.indexOf(az) !== a)
        findings.push({ path: at('azs', a), message: `AZ '${az}' is listed twice` });
    });
    group.networks.forEach((network, n) => {
      if (group.networks.findIndex((other) => other.name === network.name) !== n) {
        findings.push({
          path: at('networks', n, 'name'),
          message: `network '${network.name}' is listed twice`,
        });
      }
      const ips = network.static_ips ?? [];
      ips.forEach((text, k) => {
        const path = at('networks', n, 'static_ips', k);
        const ip = parseIPv4(text);
        if (ip === null) {
          findings.push({ path, message: `expected an IPv4 address such as 10.0.0.10, found '${text}'` });
          return;
        }
        const owner = staticOwner.get(ip);
        if (owner !== undefined) {
          findings.push({
            path,
            message: `static IP ${formatIPv4(ip)} is already used by ${formatPath(owner)}`,
          });
        } else {
          staticOwner.set(ip, path);
        }
      });
      if (ips.length > group.instances) {
        findings.push({
          path: at('instances'),
          message: `${group.instances} ${group.instances === 1 ? 'instance' : 'instances'} but ${ips.length} static IPs on network '${network.name}' (instances must be at least the number of static IPs)`,
        });
      }
    });
    group.migrated_from?.forEach((old, m) => {
      const path = at('migrated_from', m, 'name');
      if (old.name !== group.name && groupNames.has(old.name)) {
        findings.push({
          path,
          message: `'${old.name}' is a current instance group; migrated_from names a group that no longer exists in the manifest`,
        });
        return;
      }
      const claimant = migratedBy.get(old.name);
      if (claimant !== undefined && claimant !== g) {
        findings.push({
          path,
          message: `old group '${old.name}' is already migrated into instance_groups[${claimant}] ('${groups[claimant]?.name ?? ''}'); one old group can move into one new group only`,
        });
      } else {
        migratedBy.set(old.name, g);
      }
    });
  });
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Cloud config on its own

export function cloudConfigProblems(cloudConfig: CloudConfig): Finding[] {
  const findings: Finding[] = [];
  findings.push(...duplicates(cloudConfig.azs, (i) => ['azs', i, 'name'], 'AZ name'));
  findings.push(...duplicates(cloudConfig.vm_types, (i) => ['vm_types', i, 'name'], 'vm_type name'));
  findings.push(...duplicates(cloudConfig.disk_types, (i) => ['disk_types', i, 'name'], 'disk_type name'));
  findings.push(...duplicates(cloudConfig.networks, (i) => ['networks', i, 'name'], 'network name'));

  const sizes = Object.keys(cloudConfig.vm_sizes);
  cloudConfig.vm_types.forEach((vmType, t) =>
    findings.push(...vmTypeProblems(vmType, ['vm_types', t], sizes)),
  );

  const azNames = cloudConfig.azs.map((az) => az.name);
  cloudConfig.networks.forEach((network, n) => {
    network.subnets.forEach((subnet, s) => {
      findings.push(...subnetProblems(subnet, ['networks', n, 'subnets', s], azNames));
    });
  });
  return findings;
}

const EXPLICIT_SIZE = ['cpus', 'memory_mb', 'disk_gb'] as const;

function vmTypeProblems(vmType: VmType, at: PathSegment[], sizes: readonly string[]): Finding[] {
  const given = EXPLICIT_SIZE.filter((field) => vmType[field] !== undefined);
  if (vmType.size !== undefined) {
    if (given.length > 0) {
      return [
        {
          path: [...at, given[0] ?? 'cpus'],
          message: `vm_type '${vmType.name}' sets both size '${vmType.size}' and ${given.join(', ')}; use the preset or explicit values, not both`,
        },
      ];
    }
    if (!sizes.includes(vmType.size))
      return [unknownName([...at, 'size'], 'vm_sizes preset', vmType.size, sizes)];
    return [];
  }
  if (given.length === EXPLICIT_SIZE.length) return [];
  const missing = EXPLICIT_SIZE.filter((field) => vmType[field] === undefined);
  return [
    {
      path: given.length === 0 ? [...at, 'size'] : [...at, missing[0] ?? 'cpus'],
      message:
        given.length === 0
          ? `vm_type '${vmType.name}' needs a size preset or cpus, memory_mb and disk_gb`
          : `vm_type '${vmType.name}' gives ${given.join(', ')} but not ${missing.join(', ')} (explicit sizes need all three)`,
    },
  ];
}

function subnetProblems(subnet: Subnet, at: PathSegment[], azNames: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  subnet.azs.forEach((az, a) => {
    if (!azNames.includes(az)) findings.push(unknownName([...at, 'azs', a], 'AZ', az, azNames));
  });

  const cidr = parseCidr(subnet.range);
  if (cidr === null) {
    findings.push({
      path: [...at, 'range'],
      message: `expected a CIDR range such as 10.0.0.0/24, found '${subnet.range}'`,
    });
  } else if (cidr.hostBitsSet) {
    findings.push({
      path: [...at, 'range'],
      message: `range '${subnet.range}' has host bits set`,
      hint: `did you mean '${formatIPv4(cidr.first)}/${cidr.prefix}'?`,
    });
  }
  const within = cidr === null || cidr.hostBitsSet ? null : cidr;
  const where = within === null ? '' : ` ${subnet.range}`;

  const gateway = parseIPv4(subnet.gateway);
  if (gateway === null) {
    findings.push({
      path: [...at, 'gateway'],
      message: `expected an IPv4 address such as 10.0.0.1, found '${subnet.gateway}'`,
    });
  } else if (within !== null && !(within.first < gateway && gateway < within.last)) {
    findings.push({
      path: [...at, 'gateway'],
      message: `gateway ${subnet.gateway} is outside the subnet range${where}`,
    });
  }

  const ranges = (field: 'reserved' | 'static'): IpRange[] =>
    subnet[field].flatMap((text, k) => {
      const range = parseIpRange(text);
      if (range === null) {
        findings.push({
          path: [...at, field, k],
          message: `expected an IP or a range such as 10.0.0.2-10.0.0.9 (first <= last), found '${text}'`,
        });
        return [];
      }
      if (within !== null && !rangeContains(within, range)) {
        findings.push({
          path: [...at, field, k],
          message: `${field} '${text}' is outside the subnet range${where}`,
        });
      }
      return [range];
    });
  const reserved = ranges('reserved');
  ranges('static');

  // A static IP that is also reserved, or is the gateway, could never be handed out safely.
  subnet.static.forEach((text, k) => {
    const range = parseIpRange(text);
    if (range === null) return;
    const clash = reserved.find((r) => rangesOverlap(r, range));
    if (clash !== undefined) {
      findings.push({
        path: [...at, 'static', k],
        message: `static '${text}' overlaps reserved '${formatIpRange(clash)}'`,
      });
    } else if (gateway !== null && inAnyRange(gateway, [range])) {
      findings.push({
        path: [...at, 'static', k],
        message: `static '${text}' includes the gateway ${subnet.gateway}`,
      });
    }
  });
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Manifest against cloud config

/** Every reference from the manifest into the cloud config, checked. */
export function crossProblems(manifest: Manifest, cloudConfig: CloudConfig): DeploymentFinding[] {
  const findings: DeploymentFinding[] = [];
  const add = (f: Finding): void => {
    findings.push({ ...f, file: 'manifest' });
  };
  const azNames = cloudConfig.azs.map((az) => az.name);
  const vmTypes = cloudConfig.vm_types.map((t) => t.name);
  const diskTypes = cloudConfig.disk_types.map((t) => t.name);
  // With duplicate names (reported on their own) the first definition counts.
  const networks = new Map<string, Network>();
  for (const n of cloudConfig.networks) if (!networks.has(n.name)) networks.set(n.name, n);
  const networkNames = cloudConfig.networks.map((n) => n.name);

  manifest.instance_groups.forEach((group, g) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['instance_groups', g, ...rest];
    group.azs.forEach((az, a) => {
      if (!azNames.includes(az)) add(unknownName(at('azs', a), 'AZ', az, azNames));
    });
    if (!vmTypes.includes(group.vm_type)) add(unknownName(at('vm_type'), 'vm_type', group.vm_type, vmTypes));
    if (group.persistent_disk_type !== undefined && !diskTypes.includes(group.persistent_disk_type)) {
      add(unknownName(at('persistent_disk_type'), 'disk_type', group.persistent_disk_type, diskTypes));
    }
    const knownAzs = group.azs.filter((az) => azNames.includes(az));

    group.networks.forEach((groupNetwork, n) => {
      const network = networks.get(groupNetwork.name);
      if (network === undefined) {
        add(unknownName(at('networks', n, 'name'), 'network', groupNetwork.name, networkNames));
        return;
      }
      const served = (subnet: Subnet): boolean => subnet.azs.some((az) => knownAzs.includes(az));
      for (const az of knownAzs) {
        if (!network.subnets.some((subnet) => subnet.azs.includes(az))) {
          add({
            path: at('networks', n, 'name'),
            message: `network '${network.name}' has no subnet in AZ '${az}'`,
          });
        }
      }
      (groupNetwork.static_ips ?? []).forEach((text, k) => {
        const ip = parseIPv4(text);
        // A malformed IP is reported by the manifest's own checks; with no known AZ, by the AZ check.
        if (ip === null || knownAzs.length === 0) return;
        const staticRanges = (subnets: readonly Subnet[]): IpRange[] =>
          subnets.flatMap((s) => s.static.flatMap((r) => parseIpRange(r) ?? []));
        if (inAnyRange(ip, staticRanges(network.subnets.filter(served)))) return;
        const elsewhere = network.subnets.find((s) => inAnyRange(ip, staticRanges([s])));
        const declared = staticRanges(network.subnets.filter(served)).map(formatIpRange).join(', ');
        add({
          path: at('networks', n, 'static_ips', k),
          message:
            elsewhere !== undefined
              ? `static IP ${text} belongs to a subnet of network '${network.name}' in AZs ${elsewhere.azs.join(', ')}, not this group's AZs (${knownAzs.join(', ')})`
              : `static IP ${text} is outside the static ranges of network '${network.name}' (${declared === '' ? 'no usable static range' : declared})`,
        });
      });
    });
  });
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Findings placed in their document: path, and line:column when the document came from YAML. */
export function placeFindings(findings: readonly Finding[], doc: SourceDocument): Problem[] {
  return findings.map((f) => {
    const pos = doc.locate(f.path, { key: f.atKey === true });
    return {
      path: formatPath(f.path),
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      message: f.message,
      hint: f.hint ?? null,
      source: doc.source,
    };
  });
}

/** All problems of a deployment (both files' own checks and the cross references), without positions. */
export function deploymentProblems(
  manifest: Manifest,
  cloudConfig: CloudConfig,
  sources: { manifest: string; cloudConfig: string } = { manifest: 'manifest', cloudConfig: 'cloud config' },
): Problem[] {
  const unplaced = (findings: readonly Finding[], source: string): Problem[] =>
    findings.map((f) => ({
      path: formatPath(f.path),
      line: null,
      column: null,
      message: f.message,
      hint: f.hint ?? null,
      source,
    }));
  return [
    ...unplaced(manifestProblems(manifest), sources.manifest),
    ...unplaced(cloudConfigProblems(cloudConfig), sources.cloudConfig),
    ...unplaced(crossProblems(manifest, cloudConfig), sources.manifest),
  ];
}

/** Throws a ValidationError listing every problem of this manifest against this cloud config. */
export function validateDeployment(
  manifest: Manifest,
  cloudConfig: CloudConfig,
  sources?: { manifest: string; cloudConfig: string },
): void {
  const problems = deploymentProblems(manifest, cloudConfig, sources);
  if (problems.length > 0) throw new ValidationError(problems, sources?.manifest ?? 'manifest');
}

/** The cross-reference problems of two parsed documents, placed at their lines. */
export function crossDocumentProblems(
  manifest: Parsed<Manifest>,
  cloudConfig: Parsed<CloudConfig>,
): Problem[] {
  const findings = crossProblems(manifest.value, cloudConfig.value);
  return [
    ...placeFindings(
      findings.filter((f) => f.file === 'manifest'),
      manifest.doc,
    ),
    ...placeFindings(
      findings.filter((f) => f.file === 'cloudConfig'),
      cloudConfig.doc,
    ),
  ];
}

/**
 * Cross-reference checks with line numbers: both inputs as parsed documents (see
 * parseManifestDocument / parseCloudConfigDocument). Throws a ValidationError listing every problem.
 */
export function checkDeployment(manifest: Parsed<Manifest>, cloudConfig: Parsed<CloudConfig>): void {
  const problems = crossDocumentProblems(manifest, cloudConfig);
  if (problems.length > 0) throw new ValidationError(problems, manifest.doc.source);
}
