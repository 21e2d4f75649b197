// Connection settings come from Temporal's environment configuration: temporal.toml profiles,
// TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, then TEMPORAL_* variables over the profile, as the Temporal
// CLI reads them. (Defaults and TLS variables: test/integration/smoke.test.ts.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionConfigError, temporalSettingsFromEnv, uiLink } from '../../../src/temporal/connection';

const dir = mkdtempSync(join(tmpdir(), 'converge-envconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const config = file(
  'temporal.toml',
  [
    '[profile.default]',
    'address = "default.example:7233"',
    'namespace = "dev"',
    '',
    '[profile.cloud]',
    'address = "team.tmprl.cloud:7233"',
    'namespace = "team.a1b2"',
    'api_key = "secret-key"',
    '[profile.cloud.grpc_meta]',
    'x-team = "b"',
    '',
    '[profile.mtls]',
    'address = "mtls.example:7233"',
    '[profile.mtls.tls]',
    `client_cert_path = "${join(dir, 'crt.pem')}"`,
    '',
  ].join('\n'),
);
file('crt.pem', 'certificate');

describe('connection settings from a temporal.toml profile', () => {
  it('reads the default profile of TEMPORAL_CONFIG_FILE', () => {
    expect(temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: config })).toEqual({
      address: 'default.example:7233',
      namespace: 'dev',
    });
  });

  it('reads the profile TEMPORAL_PROFILE names, with its API key (TLS on) and gRPC headers', () => {
    expect(temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'cloud' })).toEqual({
      address: 'team.tmprl.cloud:7233',
      namespace: 'team.a1b2',
      apiKey: 'secret-key',
      tls: {},
      metadata: { 'x-team': 'b' },
    });
  });

  it('lets TEMPORAL_* variables override the profile, and ignores empty ones', () => {
    const settings = temporalSettingsFromEnv({
      TEMPORAL_CONFIG_FILE: config,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_NAMESPACE: 'other',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_TLS: 'false',
    });
    expect(settings).toMatchObject({ address: 'team.tmprl.cloud:7233', namespace: 'other' });
    expect(settings.tls).toBeUndefined();
    expect(uiLink('deployment/web', undefined, { TEMPORAL_CONFIG_FILE: config })).toBe(
      'http://127.0.0.1:8233/namespaces/dev/workflows/deployment%2Fweb',
    );
  });

  it('names the profile, key and file when the profile is wrong', () => {
    expect(() => temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'mtls' })).toThrow(
      `profile "mtls" tls.client_cert_path and tls.client_key_path (${config}) must be set together`,
    );
    expect(() => temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod' })).toThrow(
      ConnectionConfigError,
    );
    expect(() => temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod' })).toThrow(
      /profile "prod".*Profile 'prod' not found/,
    );
    expect(() => temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') })).toThrow(
      /^TEMPORAL_CONFIG_FILE: .*none\.toml does not exist$/,
    );
    const broken = file('broken.toml', '[profile.default\naddress = 1');
    expect(() => temporalSettingsFromEnv({ TEMPORAL_CONFIG_FILE: broken })).toThrow(ConnectionConfigError);
  });

  it('reads the default file from the user config dir', () => {
    const home = join(dir, 'home');
    const xdg = join(home, '.config', 'temporalio');
    mkdirSync(xdg, { recursive: true });
    writeFileSync(join(xdg, 'temporal.toml'), '[profile.default]\naddress = "home.example:7233"\n');
    expect(temporalSettingsFromEnv({ HOME: home }).address).toBe('home.example:7233');
  });
});
