// Update validators: reject bad input before anything is written to history (DESIGN §9.5).
import { z } from 'zod';
import { cloudConfigSchema, type CloudConfig } from '../domain/cloud-config';
import { manifestSchema, type Manifest } from '../domain/manifest';
import { validateCloudConfigObject, validateDeployment, validateManifestObject } from '../domain';
import { formatPath, ValidationError } from '../domain/errors';
import type { DeployRequest } from './types';
import { RESOLUTIONS } from '../planner/cloud-check';

/** Throws a ValidationError (listing every problem) when the deploy payload is not a valid deployment. */
export function validateDeployPayload(
  manifest: unknown,
  cloudConfig: unknown,
  deployment: string,
): { manifest: Manifest; cloudConfig: CloudConfig } {
  const m = validateManifestObject(manifest);
  const c = validateCloudConfigObject(cloudConfig);
  validateDeployment(m, c);
  if (m.name !== deployment) {
    throw inputProblem(
      'name',
      `manifest name '${m.name}' does not match deployment '${deployment}': a deployment is its name`,
    );
  }
  return { manifest: m, cloudConfig: c };
}

/**
 * A deploy request the validator accepted, as typed values: the schemas only, which fill in the
 * defaults a client may leave out. Not checked again (the validator did, before the update was
 * accepted); the operation receives these values and parses nothing.
 */
export function acceptedDeployInputs(req: DeployRequest): { manifest: Manifest; cloudConfig: CloudConfig } {
  return {
    manifest: manifestSchema.parse(req.manifest),
    cloudConfig: cloudConfigSchema.parse(req.cloudConfig),
  };
}

// The request objects themselves, strictly: a mistyped option must never be read as another one
// (`stop {hard: "no"}` is not a hard stop) and an unknown option is a mistake, not a no-op.
const instanceSelectors = z.array(z.string().min(1)).optional();
const deployRequestSchema = z.strictObject({
  manifest: z.unknown(),
  cloudConfig: z.unknown(),
  recreate: z.boolean().optional(),
  dryRun: z.boolean().optional(),
});
const stopRequestSchema = z.strictObject({
  hard: z.boolean().optional(),
  instances: instanceSelectors,
  dryRun: z.boolean().optional(),
});
const instancesRequestSchema = z.strictObject({
  instances: instanceSelectors,
  dryRun: z.boolean().optional(),
});
const deleteRequestSchema = z.strictObject({});
const interruptRequestSchema = z.strictObject({});
const cckRequestSchema = z.strictObject({ resolution: z.enum(RESOLUTIONS).optional() });
const instanceActionRequestSchema = z.strictObject({
  instance: z.string().min(1),
  action: z.enum(['start', 'stop', 'reboot']),
});

export const REQUESTS = {
  deploy: deployRequestSchema,
  stop: stopRequestSchema,
  instances: instancesRequestSchema,
  delete: deleteRequestSchema,
  interrupt: interruptRequestSchema,
  instanceAction: instanceActionRequestSchema,
  cck: cckRequestSchema,
} as const;

/** Throws a ValidationError naming every bad field of an update's request object. */
export function checkRequest(kind: keyof typeof REQUESTS, request: unknown): void {
  const result = REQUESTS[kind].safeParse(request);
  if (result.success) return;
  throw new ValidationError(
    result.error.issues.map((i) => ({
      path: i.path.length ? formatPath(i.path.map((s) => (typeof s === 'number' ? s : String(s)))) : '',
      line: null,
      column: null,
      message: `invalid ${kind} request: ${i.message}`,
      hint: null,
    })),
  );
}

/** One bad field of an update's input, as the same typed error the loaders throw. */
export function inputProblem(path: string, message: string): ValidationError {
  return new ValidationError([{ path, line: null, column: null, message, hint: null }]);
}
