// Parsing text and objects into typed inputs: every problem, with path, line:column, what was expected
// and what was found, and a hint for near misses.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError, type Problem } from '../../../src/domain/errors';
import {
  parseCloudConfig,
  parseManifest,
  readYamlDocument,
  validateCloudConfigObject,
  validateManifestObject,
} from '../../../src/domain/load';

const manifestText = readFileSync('examples/manifest.yml', 'utf8');
const cloudConfigText = readFileSync('examples/cloud-config.yml', 'utf8');

function rejected(run: () => unknown): readonly Problem[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ValidationError) return err.problems;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** The example manifest with one line replaced (line numbers stay those of examples/manifest.yml). */
function manifestWith(from: string, to: string): string {
  expect(manifestText).toContain(from);
  return manifestText.replace(from, to);
}

describe('parseManifest reports what was expected and what was found', () => {
  it.each([
    [
      'a misspelled key gets a hint',
      '    vm_type: small\n',
      '    vm_typ: small\n',
      [
        [
          'instance_groups[0].vm_type',
          14,
          5,
          "required key 'vm_type' is missing (expected a string)",
          "it is spelled 'vm_typ' here",
        ],
        ['instance_groups[0].vm_typ', 17, 5, "unknown key 'vm_typ'", "did you mean 'vm_type'?"],
      ],
    ],
    [
      'an unknown key without a near miss lists the allowed keys',
      'resource_pool: dev\n',
      'resource_pool: dev\nowner: me\n',
      [
        [
          'owner',
          4,
          1,
          "unknown key 'owner' (expected one of: name, resource_pool, stemcells, update, instance_groups, callbacks, watch)",
          null,
        ],
      ],
    ],
    [
      'a wrong type names both types',
      'instances: 3',
      'instances: [3]',
      [['instance_groups[0].instances', 15, 16, 'expected a number, found a list', null]],
    ],
    [
      'an enum value lists the choices and hints',
      'vm_strategy: hot_swap',
      'vm_strategy: delete-create',
      [
        [
          'update.vm_strategy',
          11,
          16,
          "expected one of: hot_swap, delete_create; found 'delete-create'",
          "did you mean 'delete_create'?",
        ],
      ],
    ],
    [
      'a percentage out of range',
      'max_in_flight: 2',
      'max_in_flight: "150%"',
      [['update.max_in_flight', 10, 18, 'expected a percentage from "1%" to "100%", found \'150%\'', null]],
    ],
    [
      'a count below one',
      'max_in_flight: 2',
      'max_in_flight: 0',
      [['update.max_in_flight', 10, 18, 'expected a number >= 1, found 0', null]],
    ],
    [
      'neither a count nor a percentage',
      'max_in_flight: 2',
      'max_in_flight: {n: 2}',
      [['update.max_in_flight', 10, 18, 'expected a number or a string, found a mapping', null]],
    ],
    [
      'a max_unhealthy percentage out of range',
      'serial: true',
      'serial: true\n  max_unhealthy: "120%"',
      [['update.max_unhealthy', 13, 18, 'expected a percentage from "0%" to "100%", found \'120%\'', null]],
    ],
    [
      'resurrect must be a boolean',
      'serial: true',
      'serial: true\n  resurrect: sometimes',
      [['update.resurrect', 13, 14, "expected true or false, found 'sometimes'", null]],
    ],
    [
      'a watch interval of zero',
      'resource_pool: dev',
      'resource_pool: dev\nwatch: {interval_seconds: 0}',
      [['watch.interval_seconds', 4, 27, 'expected a number >= 1, found 0', null]],
    ],
    [
      'a fractional count',
      'instances: 3',
      'instances: 2.5',
      [['instance_groups[0].instances', 15, 16, 'expected an integer, found 2.5', null]],
    ],
    [
      'an unquoted version',
      'version: "1.181"',
      'version: 1.181',
      [
        [
          'stemcells[0].version',
          7,
          14,
          'expected a string, found the number 1.181',
          'quote it so YAML keeps it as text: "1.181" (unquoted, 1.10 would read as 1.1)',
        ],
      ],
    ],
    [
      'an empty list',
      'azs: [z1]',
      'azs: []',
      [['instance_groups[2].azs', 31, 10, 'expected at least 1 item, found an empty list', null]],
    ],
    [
      'a null value',
      'vm_type: small',
      'vm_type:',
      [['instance_groups[0].vm_type', 17, 13, 'expected a string, found null (an empty value)', null]],
    ],
  ])('%s', (_name, from, to, expected) => {
    const problems = rejected(() => parseManifest(manifestWith(from, to), 'm.yml'));
    expect(problems.map((p) => [p.path, p.line, p.column, p.message, p.hint])).toEqual(expected);
    expect(problems.every((p) => p.source === 'm.yml')).toBe(true);
  });

  it('YAML syntax errors come with line and column, and nothing else is checked', () => {
    const problems = rejected(() => parseManifest('name: web\nname: api\ninstance_groups: [\n', 'm.yml'));
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(problems[0]).toMatchObject({
      path: '',
      line: 2,
      column: 1,
      message: 'YAML syntax: Map keys must be unique',
    });
    expect(problems.every((p) => p.message.startsWith('YAML syntax: ') && p.line !== null)).toBe(true);
  });

  it('an empty document says so', () => {
    expect(rejected(() => parseManifest('# nothing here\n', 'm.yml'))).toEqual([
      {
        path: '',
        line: null,
        column: null,
        message: 'the document is empty (expected a mapping)',
        hint: null,
        source: 'm.yml',
      },
    ]);
  });

  it('follows anchors and aliases like any other value', () => {
    const text = manifestWith('    env: {}\n', '    env: &shared {tier: web}\n').replace(
      '    persistent_disk: 10\n',
      '    persistent_disk: 10\n    env: *shared\n',
    );
    expect(parseManifest(text).instance_groups[1]?.env).toEqual({ tier: 'web' });
  });

  it('applies the schema defaults to a valid manifest', () => {
    const manifest = parseManifest(manifestText.replace(/update:\n( {2}.*\n)+/, ''));
    expect(manifest.update).toEqual({ canaries: 1, max_in_flight: 1, serial: true });
  });
});

describe('parseCloudConfig', () => {
  it('loads the example', () => {
    expect(parseCloudConfig(cloudConfigText).disk_types).toEqual([
      { name: 'fast', disk_gb: 10, cloud_properties: { pool_type: 'lvm' } },
    ]);
  });

  it('reports every problem of the file at once: schema first, consistency only once the schema holds', () => {
    const text = cloudConfigText
      .replace('disk_gb: 15', 'disk_gb: "15"')
      .replace('gateway: 10.0.0.1', 'gatway: 10.0.0.1');
    expect(rejected(() => parseCloudConfig(text, 'c.yml')).map((p) => [p.path, p.line])).toEqual([
      ['vm_sizes.small.disk_gb', 5],
      ['networks[0].subnets[0].gateway', 16],
      ['networks[0].subnets[0].gatway', 17],
    ]);
  });

  it('checks consistency within the file: a vm_type naming an unknown size preset', () => {
    const problems = rejected(() =>
      parseCloudConfig(cloudConfigText.replace('size: medium', 'size: huge'), 'c.yml'),
    );
    expect(problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['vm_types[1].size', 9, "unknown vm_sizes preset 'huge' (expected one of: small, medium)"],
    ]);
  });
});

describe('objects that never were YAML (workflow inputs)', () => {
  const manifestObject = (): Record<string, unknown> => ({
    name: 'web',
    resource_pool: 'dev',
    stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version: '1.181' }],
    instance_groups: [
      {
        name: 'api',
        instances: 1,
        azs: ['z1'],
        vm_type: 'small',
        stemcell: 'default',
        networks: [{ name: 'default' }],
      },
    ],
  });

  it('a valid object comes back typed, with defaults', () => {
    expect(validateManifestObject(manifestObject()).instance_groups[0]?.env).toEqual({});
  });

  it('problems carry paths but no lines', () => {
    const obj = {
      ...manifestObject(),
      stemcells: [{ alias: 'default', os: 'ubuntu-jammy', verison: '1.181' }],
    };
    expect(rejected(() => validateManifestObject(obj))).toEqual([
      {
        path: 'stemcells[0].version',
        line: null,
        column: null,
        message: "required key 'version' is missing (expected a string)",
        hint: "it is spelled 'verison' here",
        source: 'manifest',
      },
      {
        path: 'stemcells[0].verison',
        line: null,
        column: null,
        message: "unknown key 'verison'",
        hint: "did you mean 'version'?",
        source: 'manifest',
      },
    ]);
  });

  it('the cloud config variant runs the same checks', () => {
    expect(rejected(() => validateCloudConfigObject({ azs: [] })).map((p) => p.path)).toEqual([
      'azs',
      'vm_types',
      'networks',
    ]);
  });

  it('something that is not an object at all', () => {
    expect(rejected(() => validateManifestObject('web')).map((p) => p.message)).toEqual([
      "expected a mapping, found 'web'",
    ]);
  });
});

describe('readYamlDocument.locate', () => {
  const doc = readYamlDocument('a:\n  b: [x, {c: 1}]\n  d: 2\n', 'f.yml');
  it.each([
    ['a value in a flow list', ['a', 'b', 1, 'c'], false, { line: 2, column: 14 }],
    ['a key rather than its value', ['a', 'd'], true, { line: 3, column: 3 }],
    ['a value', ['a', 'd'], false, { line: 3, column: 6 }],
    ['a path that does not exist: its nearest ancestor', ['a', 'b', 5], false, { line: 2, column: 6 }],
    ['the whole document', [], false, { line: 1, column: 1 }],
  ])('%s', (_name, path, key, position) => {
    expect(doc.locate(path, { key })).toEqual(position);
  });
});

describe('src/domain stays pure', () => {
  it('imports nothing from Node (workflow code loads it)', () => {
    for (const file of readdirSync('src/domain').filter((f) => f.endsWith('.ts'))) {
      expect(readFileSync(`src/domain/${file}`, 'utf8'), file).not.toMatch(/from '(node:|fs'|path'|crypto')/);
    }
  });
});
