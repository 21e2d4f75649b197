// The watch compares projections by digest: the workflow hands a pass the digest of the projection it
// holds, the pass returns when the cloud's differs. One function on both sides, so they always agree.
import type { Observed } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import { canonicalJson } from './canonical';
import { embodiment } from './embodiment';
import { sha256Hex } from './hash';
import { projectStatus, type StatusRow } from './status';

export function projectionDigest(rows: readonly unknown[]): string {
  return sha256Hex(canonicalJson(rows)).slice(0, 32);
}

export function watchProjection(
  deployment: string,
  observed: Observed,
  records: InstanceRecord[],
): StatusRow[] {
  return projectStatus(embodiment(deployment, observed, records));
}

export function watchDigest(deployment: string, observed: Observed, records: InstanceRecord[]): string {
  return projectionDigest(watchProjection(deployment, observed, records));
}
