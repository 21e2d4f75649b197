// region.yml: what the region offers (quota pools, AZs, networks, storage pools, images).
// Validated strictly; every error names the field, e.g. `networks[0].subnets[0].gateway`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { cidrHosts, ipToNum, parseRange, type Interval } from './ipam';
import { firstIssue } from './validate';
import { packageRoot } from '../package-root';

const name = z.string().min(1);
const count = z.number().int().min(0);

const ipRangeList = z.array(
  z.string().refine((s) => parseRange(s) !== undefined, 'an IPv4 address or a-b range'),
);

const subnetSchema = z.strictObject({
  range: z.string().refine((s) => cidrHosts(s) !== undefined, 'a CIDR such as 10.0.0.0/24 (prefix 8-32)'),
  gateway: z.string().refine((s) => ipToNum(s) !== undefined, 'an IPv4 address'),
  reserved: ipRangeList.default([]),
  static: ipRangeList.default([]),
  /** AZs this subnet serves; all AZs when absent. */
  azs: z.array(name).optional(),
});

export const regionConfigSchema = z
  .strictObject({
    pools: z
      .array(
        z.strictObject({
          name,
          limits: z.strictObject({ cpus: count, memory_mb: count, instances: count }),
        }),
      )
      .min(1),
    azs: z.array(name).min(1),
    networks: z.array(z.strictObject({ name, subnets: z.array(subnetSchema).min(1) })).min(1),
    storage_pools: z
      .array(
        z.strictObject({
          name,
          type: name,
          can_create: z.boolean(),
          capacity_gb: count,
        }),
      )
      .default([]),
    images: z.array(z.strictObject({ os: name, version: name })).default([]),
  })
  .superRefine((cfg, ctx) => {
    const unique = (items: { name: string }[], field: string): void => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.name))
          ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate name ${item.name}` });
        seen.add(item.name);
      });
    };
    unique(cfg.pools, 'pools');
    unique(cfg.networks, 'networks');
    unique(cfg.storage_pools, 'storage_pools');
    cfg.networks.forEach((net, ni) => {
      const taken: Interval[] = [];
      net.subnets.forEach((s, si) => {
        const at = (field: string, index?: number): PropertyKey[] =>
          index === undefined
            ? ['networks', ni, 'subnets', si, field]
            : ['networks', ni, 'subnets', si, field, index];
        const hosts = cidrHosts(s.range);
        if (!hosts) return;
        const inside = (n: number): boolean => n >= hosts[0] && n <= hosts[1];
        const gw = ipToNum(s.gateway);
        if (gw !== undefined && !inside(gw))
          ctx.addIssue({ code: 'custom', path: at('gateway'), message: `not inside ${s.range}` });
        for (const field of ['reserved', 'static'] as const) {
          s[field].forEach((entry, i) => {
            const r = parseRange(entry);
            if (r && !(inside(r[0]) && inside(r[1]))) {
              ctx.addIssue({
                code: 'custom',
                path: at(field, i),
                message: `${entry} is not inside ${s.range}`,
              });
            }
          });
        }
        if (taken.some(([lo, hi]) => hosts[0] <= hi && hosts[1] >= lo)) {
          ctx.addIssue({
            code: 'custom',
            path: at('range'),
            message: `overlaps another subnet of ${net.name}`,
          });
        }
        taken.push(hosts);
        s.azs?.forEach((az, i) => {
          if (!cfg.azs.includes(az))
            ctx.addIssue({ code: 'custom', path: at('azs', i), message: `unknown az ${az}` });
        });
      });
    });
  });

export type RegionConfig = z.infer<typeof regionConfigSchema>;
export type RegionConfigInput = z.input<typeof regionConfigSchema>;

/** A config file problem, already phrased for the user. */
export class ConfigError extends Error {}

/** The example that ships with the repository is the default seed. */
export const DEFAULT_CONFIG_PATH = join(packageRoot(), 'examples', 'region.yml');

export function parseRegionConfig(input: unknown, source: string): RegionConfig {
  const result = regionConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new ConfigError(`${source}: ${field === '' ? '' : `${field}: `}${message}`);
}

export function loadRegionConfig(path: string = DEFAULT_CONFIG_PATH): RegionConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  return parseRegionConfig(doc, path);
}
