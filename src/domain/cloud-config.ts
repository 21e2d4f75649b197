// The cloud config: cloud-wide definitions the manifest refers to by name (DESIGN §3).
import { z } from 'zod';

const cloudProperties = z.record(z.string(), z.unknown()).default({});

export const vmSizeSchema = z.strictObject({
  cpus: z.number().int().min(1),
  memory_mb: z.number().int().min(1),
  disk_gb: z.number().int().min(1),
});
export type VmSize = z.infer<typeof vmSizeSchema>;

/** A vm_type names a preset `size` (as oVirt's VmSize.yml) or gives cpus/memory_mb/disk_gb itself. */
export const vmTypeSchema = z.strictObject({
  name: z.string().min(1),
  size: z.string().min(1).optional(),
  cpus: z.number().int().min(1).optional(),
  memory_mb: z.number().int().min(1).optional(),
  disk_gb: z.number().int().min(1).optional(),
  cloud_properties: cloudProperties,
});
export type VmType = z.infer<typeof vmTypeSchema>;

export const azSchema = z.strictObject({ name: z.string().min(1), cloud_properties: cloudProperties });

export const diskTypeSchema = z.strictObject({
  name: z.string().min(1),
  disk_gb: z.number().int().min(1),
  cloud_properties: cloudProperties,
});

/** IP ranges are written "10.0.0.2-10.0.0.9" or a single "10.0.0.2". */
export const subnetSchema = z.strictObject({
  range: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'a CIDR range such as 10.0.0.0/24'),
  gateway: z.string().min(1),
  azs: z.array(z.string().min(1)).min(1),
  reserved: z.array(z.string()).default([]),
  static: z.array(z.string()).default([]),
  dns: z.array(z.string()).optional(),
  cloud_properties: cloudProperties,
});
export type Subnet = z.infer<typeof subnetSchema>;

export const networkSchema = z.strictObject({
  name: z.string().min(1),
  subnets: z.array(subnetSchema).min(1),
});
export type Network = z.infer<typeof networkSchema>;

export const cloudConfigSchema = z.strictObject({
  azs: z.array(azSchema).min(1),
  vm_sizes: z.record(z.string(), vmSizeSchema).default({}),
  vm_types: z.array(vmTypeSchema).min(1),
  disk_types: z.array(diskTypeSchema).default([]),
  networks: z.array(networkSchema).min(1),
});
export type CloudConfig = z.infer<typeof cloudConfigSchema>;
export type CloudConfigInput = z.input<typeof cloudConfigSchema>;
