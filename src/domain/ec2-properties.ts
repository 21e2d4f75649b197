// What EC2 reads from the cloud config's cloud_properties, validated with zod: each schema is strict,
// so a misspelt field is an error naming it, not a property silently ignored.
import { z } from 'zod';
import type { CloudConfig } from './cloud-config';
import { formatPath, type PathSegment } from './errors';
import { didYouMean } from './suggest';
import type { Finding } from './validate';

export const VOLUME_TYPES = ['gp3', 'gp2', 'io2', 'io1', 'st1', 'sc1', 'standard'] as const;

export const vmTypeProperties = z.strictObject({
  instance_type: z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'an EC2 instance type such as t3.micro'),
  key_name: z.string().min(1).optional(),
  security_group_ids: z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'a security group id sg-…')).optional(),
});

export const azProperties = z.strictObject({
  availability_zone: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an AWS availability zone such as us-east-1a'),
});

export const subnetProperties = z.strictObject({
  subnet_id: z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id subnet-…'),
});

export const diskTypeProperties = z.strictObject({
  // Absent: any volume type the adapter offers (gp3 first).
  volume_type: z.enum(VOLUME_TYPES).optional(),
});

export type VmTypeProperties = z.infer<typeof vmTypeProperties>;
export type AzProperties = z.infer<typeof azProperties>;
export type SubnetProperties = z.infer<typeof subnetProperties>;

export interface PropertyProblem {
  /** Where in the cloud config, e.g. `networks[0].subnets[1].cloud_properties.subnet_id`. */
  path: string;
  message: string;
}

/** Parses one cloud_properties object; problems carry the full path of the field at fault. */
export function parseProperties<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: string,
): { ok: true; value: T } | { ok: false; problems: PropertyProblem[] } {
  const parsed = propertyFindings(schema, value, []);
  if (parsed.ok) return parsed;
  return {
    ok: false,
    problems: parsed.findings.map((f) => ({ path: under(at, f.path), message: f.message })),
  };
}

/** `at` + a relative path: ('cloud_properties.vm_type', ['instance_type']) → '….vm_type.instance_type'. */
function under(at: string, path: readonly PathSegment[]): string {
  return path.length === 0 ? at : `${at}${formatPath(['_', ...path]).slice(1)}`;
}

function propertyFindings<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: readonly PathSegment[],
): { ok: true; value: T } | { ok: false; findings: Finding[] } {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  const findings: Finding[] = [];
  for (const issue of parsed.error.issues) {
    const path = [...at, ...issue.path.map((k) => (typeof k === 'number' ? k : String(k)))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        findings.push({
          path: [...path, key],
          message: `unknown field '${key}' for EC2`,
          hint: didYouMean(key, knownKeys(schema)),
          atKey: true,
        });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      findings.push({ path, message: `required for EC2 (${describe(issue.path)})` });
    } else {
      findings.push({ path, message: issue.message });
    }
  }
  return { ok: false, findings };
}

/** The fields a strict object schema knows (none for other schemas). */
function knownKeys(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

const REQUIRED_WHY: Record<string, string> = {
  instance_type: 'an EC2 instance type such as t3.micro',
  availability_zone: 'the AWS availability zone such as us-east-1a',
  subnet_id: 'the subnet id subnet-… in this AZ',
};

function describe(path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  return REQUIRED_WHY[String(last)] ?? 'missing';
}

/**
 * Everything in a cloud config that EC2 cannot use, before anything starts: each vm_type needs an
 * instance_type, each AZ an availability_zone, each subnet a subnet_id (an EC2 subnet lives in one AZ,
 * so a subnet must serve exactly one), each disk type a known volume_type. Paths are field paths of
 * the cloud config, so the loader can place them on their YAML line.
 */
export function ec2CloudConfigFindings(cc: CloudConfig): Finding[] {
  const findings: Finding[] = [];
  const add = <T>(schema: z.ZodType<T>, value: unknown, at: PathSegment[]): void => {
    const r = propertyFindings(schema, value, at);
    if (!r.ok) findings.push(...r.findings);
  };
  cc.vm_types.forEach((t, i) =>
    add(vmTypeProperties, t.cloud_properties, ['vm_types', i, 'cloud_properties']),
  );
  cc.azs.forEach((a, i) => add(azProperties, a.cloud_properties, ['azs', i, 'cloud_properties']));
  cc.disk_types.forEach((d, i) =>
    add(diskTypeProperties, d.cloud_properties, ['disk_types', i, 'cloud_properties']),
  );
  cc.networks.forEach((n, i) =>
    n.subnets.forEach((s, j) => {
      const at: PathSegment[] = ['networks', i, 'subnets', j];
      add(subnetProperties, s.cloud_properties, [...at, 'cloud_properties']);
      if (s.azs.length !== 1)
        findings.push({
          path: [...at, 'azs'],
          message: `an EC2 subnet lives in one availability zone; this subnet lists ${s.azs.length}`,
        });
    }),
  );
  return findings;
}

/** ec2CloudConfigFindings with the paths written out (for callers without the YAML document). */
export function checkCloudConfigForEc2(cc: CloudConfig): PropertyProblem[] {
  return ec2CloudConfigFindings(cc).map((f) => ({ path: formatPath(f.path), message: f.message }));
}
