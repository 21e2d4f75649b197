// Reading the user's files. The only file I/O of input loading; parsing and checks are pure (src/domain).
import { readFileSync } from 'node:fs';
import { cloudConfigSchema, type CloudConfig } from '../domain/cloud-config';
import { cloudTargetFindings, type CloudKind } from '../domain/cloud-target';
import { UserError, ValidationError, type Problem } from '../domain/errors';
import {
  checkDocument,
  parseCloudConfigDocument,
  parseManifestDocument,
  readYamlDocument,
  type Parsed,
} from '../domain/load';
import { manifestSchema, type Manifest } from '../domain/manifest';
import {
  cloudConfigProblems,
  crossDocumentProblems,
  manifestProblems,
  placeFindings,
} from '../domain/validate';

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
};

/** The file's text, or a UserError (exit 2) naming the file and why it cannot be read. */
export function readInputFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : '';
    const why = READ_FAILURES[code] ?? (err instanceof Error ? err.message : String(err));
    throw new UserError(`cannot read ${what} '${path}': ${why}`, 2);
  }
}

export function loadManifestDocument(path: string): Parsed<Manifest> {
  return parseManifestDocument(readInputFile(path, 'manifest'), path);
}

export function loadCloudConfigDocument(path: string): Parsed<CloudConfig> {
  return parseCloudConfigDocument(readInputFile(path, 'cloud config'), path);
}

/** Manifest file → Manifest, or a ValidationError listing every problem with line:column. */
export function loadManifest(path: string): Manifest {
  return loadManifestDocument(path).value;
}

/** Cloud config file → CloudConfig, or a ValidationError listing every problem with line:column. */
export function loadCloudConfig(path: string): CloudConfig {
  return loadCloudConfigDocument(path).value;
}

/**
 * Both files, each fully checked, then checked against each other and the cloud config against the
 * cloud it targets (`cloud`, default the embedded region); every problem of both files is reported at
 * once. Cross references are checked whenever both files match their schemas.
 */
export function loadDeploymentInputs(
  manifestPath: string,
  cloudConfigPath: string,
  cloud: CloudKind = 'region',
): { manifest: Manifest; cloudConfig: CloudConfig } {
  const manifestDoc = readYamlDocument(readInputFile(manifestPath, 'manifest'), manifestPath);
  const cloudConfigDoc = readYamlDocument(readInputFile(cloudConfigPath, 'cloud config'), cloudConfigPath);
  const manifest = checkDocument(manifestDoc, manifestSchema, manifestProblems);
  const cloudConfig = checkDocument(cloudConfigDoc, cloudConfigSchema, cloudConfigProblems);
  const problems: Problem[] = [...manifest.problems, ...cloudConfig.problems];
  if (cloudConfig.value !== null) {
    problems.push(...placeFindings(cloudTargetFindings(cloud, cloudConfig.value), cloudConfigDoc));
  }
  if (manifest.value !== null && cloudConfig.value !== null) {
    problems.push(
      ...crossDocumentProblems(
        { value: manifest.value, doc: manifestDoc },
        { value: cloudConfig.value, doc: cloudConfigDoc },
      ),
    );
  }
  if (manifest.value === null || cloudConfig.value === null || problems.length > 0) {
    throw new ValidationError(problems, manifestPath);
  }
  return { manifest: manifest.value, cloudConfig: cloudConfig.value };
}
