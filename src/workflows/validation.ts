// Update validators: reject bad input before anything is written to history (DESIGN §9.5).
import { ApplicationFailure } from '@temporalio/workflow';
import { cloudConfigSchema, type CloudConfig } from '../domain/cloud-config';
import { manifestSchema, type Manifest } from '../domain/manifest';
import { validateCloudConfigObject, validateDeployment, validateManifestObject } from '../domain';
import type { OperationInput } from './types';

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
    throw new Error(
      `manifest name '${m.name}' does not match deployment '${deployment}': a deployment is its name`,
    );
  }
  return { manifest: m, cloudConfig: c };
}

/** Inputs stored by the entity were validated when accepted; parse again to get typed values. */
export function parseStoredInputs(input: OperationInput): { manifest: Manifest; cloudConfig: CloudConfig } {
  const m = manifestSchema.safeParse(input.manifest);
  const c = cloudConfigSchema.safeParse(input.cloudConfig);
  if (!m.success || !c.success) {
    throw ApplicationFailure.nonRetryable('stored manifest or cloud config no longer parses', 'InvalidInput');
  }
  return { manifest: m.data, cloudConfig: c.data };
}
