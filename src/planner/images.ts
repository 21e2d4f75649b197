// Stemcells the cloud has no image for. Every create-vm of such a stemcell fails ImageNotFound, the
// first of them after the plan's earlier steps have changed the deployment (a hot_swap's old VMs
// kept, a delete_create's deleted). The operation's opening read learns the cloud's images
// (ComputePort.listImages, hasImage), and this refuses the plan before any cloud write, naming the
// stemcell and what the cloud has. Only creates count: a deploy that builds no VM needs no image. Pure.
import type { Image } from '../domain/cloud';
import type { Manifest } from '../domain/manifest';
import type { Step } from './types';

export interface MissingImage {
  stemcell: Image;
  /** The manifest's alias for it (null when no stemcell of the manifest is that image). */
  alias: string | null;
  /** The claims (`api/0`) whose new VMs would boot it, in step order. */
  claims: string[];
  message: string;
}

const label = (i: Image): string => `${i.os}/${i.version}`;

/** The manifest's stemcells as the opening read asks about them: os and version, each once. */
export function stemcellImagesOf(manifest: Manifest): Image[] {
  const out: Image[] = [];
  for (const s of manifest.stemcells)
    if (!out.some((i) => i.os === s.os && i.version === s.version))
      out.push({ os: s.os, version: s.version });
  return out;
}

/**
 * One entry per stemcell that some create-vm boots and `images` (what the cloud has) lacks, in the
 * order of their first create.
 *
 * Worked example: creates of api/0 and api/1 on ubuntu-jammy/1.999 (alias default), the cloud has
 * ubuntu-jammy/1.181 → "stemcell default (ubuntu-jammy/1.999) has no image in the cloud, so the new
 * VMs of api/0, api/1 cannot be created; the cloud has ubuntu-jammy/1.181. ...".
 */
export function missingImages(
  manifest: Manifest,
  steps: readonly Step[],
  images: readonly Image[],
): MissingImage[] {
  const has = new Set(images.map(label));
  const missing = new Map<string, { stemcell: Image; claims: string[] }>();
  for (const s of steps) {
    if (s.kind !== 'create-vm' || has.has(label(s.spec.image))) continue;
    const key = label(s.spec.image);
    const entry = missing.get(key) ?? { stemcell: { ...s.spec.image }, claims: [] };
    entry.claims.push(s.claim);
    missing.set(key, entry);
  }
  const theirs = images.length > 0 ? images.map(label).join(', ') : 'none';
  return [...missing.values()].map(({ stemcell, claims }) => {
    const alias =
      manifest.stemcells.find((m) => m.os === stemcell.os && m.version === stemcell.version)?.alias ?? null;
    const named = alias === null ? label(stemcell) : `${alias} (${label(stemcell)})`;
    return {
      stemcell,
      alias,
      claims: claims.sort(byInstance),
      message:
        `stemcell ${named} has no image in the cloud, so the new VMs of ${list(claims)} cannot be ` +
        `created; the cloud has ${theirs}. Upload the stemcell first, or deploy one the cloud has`,
    };
  });
}

/** `api/2` before `api/10` before `db/0`: as people count, not by step id (which holds uuids). */
function byInstance(a: string, b: string): number {
  const [ga = '', ia = ''] = a.split('/');
  const [gb = '', ib = ''] = b.split('/');
  if (ga !== gb) return ga < gb ? -1 : 1;
  return Number(ia) - Number(ib) || (ia < ib ? -1 : ia > ib ? 1 : 0);
}

/** At most five claims, then how many more. */
function list(claims: readonly string[]): string {
  const shown = claims.slice(0, 5).join(', ');
  return claims.length > 5 ? `${shown} and ${claims.length - 5} more` : shown;
}
