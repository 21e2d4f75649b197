// The manifest: what a deployment should be (DESIGN §3). Strict: unknown keys are errors.
import { EVENT_TYPES } from './events';
import { z } from 'zod';

export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
/** Deployment names and stemcell aliases: DNS-label-like, since a deployment name is also its workflow id. */
export const nameSchema = z
  .string()
  .regex(
    NAME_PATTERN,
    'a name: lowercase letter first, then lowercase letters, digits or "-", at most 63 chars ' +
      '("_" is allowed in instance group names only)',
  );

/**
 * Instance group names also take "_", as BOSH manifests write them (`diego_cell`). A group name is
 * only ever a tag value, part of `<group>/<index>` and `<group>/<uuid>`, and part of the server's
 * name (`web-diego_cell-0`), none of which is a hostname; the embedded region and EC2 accept it.
 */
export const GROUP_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const groupNameSchema = z
  .string()
  .regex(
    GROUP_NAME_PATTERN,
    'a group name: lowercase letter first, then lowercase letters, digits, "-" or "_", at most 63 chars',
  );

export const vmStrategySchema = z.enum(['hot_swap', 'delete_create']);
export type VmStrategy = z.infer<typeof vmStrategySchema>;

/** A count (>= 1) or a percentage string such as "25%" (1–100). */
export const maxInFlightSchema = z.union([
  z.number().int().min(1),
  z.string().regex(/^(100|[1-9][0-9]?)%$/, 'a percentage from "1%" to "100%"'),
]);

/** A count (>= 0) or a percentage string such as "20%" (0–100). */
export const maxUnhealthySchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^(100|[1-9]?[0-9])%$/, 'a percentage from "0%" to "100%"'),
]);

/** The watch: how often the deployment's cloud state is looked at. */
export const watchSchema = z.strictObject({
  /** Seconds between two looks at the cloud (default 30). */
  interval_seconds: z.number().int().min(1).max(3600).optional(),
});

export const updatePolicySchema = z.strictObject({
  canaries: z.number().int().min(0).default(1),
  max_in_flight: maxInFlightSchema.default(1),
  vm_strategy: vmStrategySchema.optional(),
  serial: z.boolean().default(true),
  /**
   * Failure budget: builds of one VM that end without an ACTIVE server (ERROR, stuck in BUILD)
   * before its create-vm step fails for good. Default 3 (FailureBudget in activities.ts).
   */
  max_failed_builds: z.number().int().min(1).max(100).optional(),
  /**
   * Failure budget: minutes a step keeps retrying a conflict that should clear (its static IP held,
   * its disk busy) before it fails for good. Default 10. Outages (5xx, timeouts) retry without end.
   */
  conflict_timeout_minutes: z.number().positive().max(1440).optional(),
  /**
   * Heal: replace a VM the watch finds missing or in ERROR for longer than `resurrect_grace_seconds`,
   * through an ordinary recreate operation. Off unless asked for (see docs/format.md for why).
   */
  resurrect: z.boolean().optional(),
  /** Meltdown bound: more unhealthy instances than this at once and nothing is resurrected. Default "20%". */
  max_unhealthy: maxUnhealthySchema.optional(),
  /** How long a VM must stay missing or in ERROR before it is resurrected. Default 60. */
  resurrect_grace_seconds: z.number().int().min(0).max(86_400).optional(),
});
export type UpdatePolicy = z.infer<typeof updatePolicySchema>;

/** A group may override parts of the deployment's update policy. */
export const groupUpdatePolicySchema = z.strictObject({
  canaries: z.number().int().min(0).optional(),
  max_in_flight: maxInFlightSchema.optional(),
  vm_strategy: vmStrategySchema.optional(),
  serial: z.boolean().optional(),
});

export const stemcellSchema = z.strictObject({
  alias: nameSchema,
  os: z.string().min(1),
  version: z.string().min(1),
});

export const groupNetworkSchema = z.strictObject({
  name: z.string().min(1),
  static_ips: z.array(z.string()).optional(),
  default: z.array(z.string()).optional(),
});

export const instanceGroupSchema = z.strictObject({
  name: groupNameSchema,
  instances: z.number().int().min(0),
  azs: z.array(z.string().min(1)).min(1),
  vm_type: z.string().min(1),
  stemcell: z.string().min(1),
  networks: z.array(groupNetworkSchema).min(1),
  persistent_disk: z.number().int().min(1).optional(),
  persistent_disk_type: z.string().min(1).optional(),
  // Only decides replacement: part of each claim's fingerprint, never sent to the VM (no user data).
  env: z.record(z.string(), z.unknown()).default({}),
  migrated_from: z.array(z.strictObject({ name: groupNameSchema, az: z.string().optional() })).optional(),
  update: groupUpdatePolicySchema.optional(),
});
export type InstanceGroup = z.infer<typeof instanceGroupSchema>;

export const callbackEventSchema = z.enum(EVENT_TYPES);

export const callbackSchema = z.strictObject({
  // Only http and https are ever contacted (redirects are not followed either).
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  events: z.array(callbackEventSchema).min(1),
});

export const manifestSchema = z.strictObject({
  name: nameSchema,
  resource_pool: z.string().min(1),
  stemcells: z.array(stemcellSchema).min(1),
  update: updatePolicySchema.default({ canaries: 1, max_in_flight: 1, serial: true }),
  instance_groups: z.array(instanceGroupSchema),
  callbacks: z.array(callbackSchema).optional(),
  watch: watchSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
/** What a user writes (defaults not yet applied). */
export type ManifestInput = z.input<typeof manifestSchema>;
