// The watch compares projections by digest: the workflow hands a pass the digest of the projection it
// holds, the pass returns when the cloud's differs. One function on both sides, so they always agree.
// The entity digests its projection at every operation's end, inside the workflow sandbox: hence
// valueDigest (integer mixing), not sha256 over canonical JSON.
import type { Observed } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import { embodiment } from './embodiment';
import { projectStatus, type StatusRow } from './status';
import { valueDigest } from './value-digest';

export function projectionDigest(rows: readonly unknown[]): string {
  return valueDigest(rows);
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
