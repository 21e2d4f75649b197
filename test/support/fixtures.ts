// Manifests for integration tests: the examples, renamed and reshaped per test.
import { fileURLToPath } from 'node:url';
import type { CloudConfig } from '../../src/domain/cloud-config';
import type { Manifest } from '../../src/domain/manifest';
import { loadDeploymentInputs } from '../../src/client/load';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export function exampleInputs(): { manifest: Manifest; cloudConfig: CloudConfig } {
  return loadDeploymentInputs(`${EXAMPLES}manifest.yml`, `${EXAMPLES}cloud-config.yml`);
}

/** A small deployment without static IPs (so many can share one region): api ×3, worker ×2 with disks. */
export function smallManifest(name: string, change: (m: Manifest) => void = () => undefined): Manifest {
  const { manifest } = exampleInputs();
  const m: Manifest = structuredClone({
    ...manifest,
    name,
    instance_groups: manifest.instance_groups.filter((g) => g.name !== 'db'),
  });
  change(m);
  return m;
}

export function cloudConfig(): CloudConfig {
  return exampleInputs().cloudConfig;
}

export function group(m: Manifest, name: string): Manifest['instance_groups'][number] {
  const g = m.instance_groups.find((x) => x.name === name);
  if (!g) throw new Error(`no group ${name}`);
  return g;
}
