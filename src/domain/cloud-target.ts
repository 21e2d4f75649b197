// The cloud a deployment computes on, and what its cloud config must say for that cloud. The worker
// picks its cloud by CONVERGE_CLOUD; the CLI checks a cloud config against the same name before it
// starts anything, so a cloud config the cloud cannot honour never reaches a history.
import type { CloudConfig } from './cloud-config';
import { ec2CloudConfigFindings } from './ec2-properties';
import { UserError } from './errors';
import { EXIT } from './exit-codes';
import type { Finding } from './validate';

export const CLOUD_KINDS = ['region', 'ec2'] as const;
export type CloudKind = (typeof CLOUD_KINDS)[number];

export function isCloudKind(value: string): value is CloudKind {
  return (CLOUD_KINDS as readonly string[]).includes(value);
}

/**
 * `--cloud`, else CONVERGE_CLOUD, else the embedded region. An unknown name is bad usage (exit 2),
 * naming where it came from.
 */
export function cloudKindOf(flag: string | undefined, env: Record<string, string | undefined>): CloudKind {
  const [value, from] =
    flag !== undefined ? [flag, '--cloud'] : [env.CONVERGE_CLOUD || 'region', 'CONVERGE_CLOUD'];
  if (isCloudKind(value)) return value;
  throw new UserError(`${from} must be one of ${CLOUD_KINDS.join(', ')}, got '${value}'`, EXIT.usage);
}

/**
 * What `kind` cannot honour in the cloud config. The embedded region reads no cloud_properties;
 * EC2 needs its names (see ec2-properties.ts).
 */
export function cloudTargetFindings(kind: CloudKind, cc: CloudConfig): Finding[] {
  return kind === 'ec2' ? ec2CloudConfigFindings(cc) : [];
}
