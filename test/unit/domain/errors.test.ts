// How problems read, and how the CLI ends on each kind of error.
import { describe, expect, it } from 'vitest';
import { describeError, reportUserError } from '../../../src/client/errors';
import {
  formatPath,
  formatProblems,
  UserError,
  ValidationError,
  type Problem,
} from '../../../src/domain/errors';

const smal: Problem = {
  path: 'instance_groups[1].vm_type',
  line: 12,
  column: 7,
  message: "unknown vm_type 'smal' (expected one of: small, medium)",
  hint: "did you mean 'small'?",
};

describe('formatProblems', () => {
  it.each<[string, Problem, string | null, string]>([
    [
      'file, line, column, path, message and hint',
      smal,
      'manifest.yml',
      "manifest.yml:12:7 instance_groups[1].vm_type: unknown vm_type 'smal' (expected one of: small, medium) — did you mean 'small'?",
    ],
    [
      'no position (an object that never was a file)',
      { ...smal, line: null, column: null, hint: null },
      'manifest',
      "manifest instance_groups[1].vm_type: unknown vm_type 'smal' (expected one of: small, medium)",
    ],
    [
      'a problem in another file than the error’s own',
      { ...smal, source: 'cloud.yml', path: 'azs[1].name', message: "duplicate AZ name 'z1'", hint: null },
      'manifest.yml',
      "cloud.yml:12:7 azs[1].name: duplicate AZ name 'z1'",
    ],
    [
      'the whole document',
      { path: '', line: 3, column: 1, message: 'YAML syntax: Map keys must be unique', hint: null },
      'm.yml',
      'm.yml:3:1 (document): YAML syntax: Map keys must be unique',
    ],
    [
      'no file at all',
      { ...smal, hint: null },
      null,
      "line 12:7 instance_groups[1].vm_type: unknown vm_type 'smal' (expected one of: small, medium)",
    ],
  ])('renders %s', (_name, problem, source, line) => {
    expect(formatProblems([problem], source)).toBe(line);
  });

  it('puts one problem per line', () => {
    expect(formatProblems([smal, { ...smal, line: 20 }], 'm.yml').split('\n')).toHaveLength(2);
  });
});

describe('ValidationError', () => {
  it('orders problems by file (its own first), then line, keeping unplaced ones last in their order', () => {
    const at = (path: string, line: number | null, source?: string): Problem => ({
      path,
      line,
      column: line === null ? null : 1,
      message: 'm',
      hint: null,
      ...(source === undefined ? {} : { source }),
    });
    const err = new ValidationError(
      [
        at('c', 2, 'cloud.yml'),
        at('b', 9, 'm.yml'),
        at('x', null, 'm.yml'),
        at('a', 3, 'm.yml'),
        at('y', null, 'm.yml'),
      ],
      'm.yml',
    );
    expect(err.problems.map((p) => p.path)).toEqual(['a', 'b', 'x', 'y', 'c']);
    expect(err.message.split('\n')).toHaveLength(5);
    expect(err.exitCode).toBe(2);
    expect(err).toBeInstanceOf(UserError);
  });
});

describe('formatPath', () => {
  it.each([
    [['instance_groups', 1, 'networks', 0, 'static_ips', 2], 'instance_groups[1].networks[0].static_ips[2]'],
    [['vm_sizes', 'small', 'cpus'], 'vm_sizes.small.cpus'],
    [['instance_groups', 0, 'env', 'a.b'], 'instance_groups[0].env["a.b"]'],
    [[], ''],
  ])('%j → %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('how the CLI ends', () => {
  const invalid = new ValidationError([smal], 'manifest.yml');

  it.each<[string, unknown, boolean, number, string[], string[]]>([
    [
      'bad input: every problem, exit 2, no stack',
      invalid,
      false,
      2,
      ['invalid input: 1 problem', 'manifest.yml:12:7 instance_groups[1].vm_type'],
      ['    at '],
    ],
    ['bad input, even when debugging: still no stack', invalid, true, 2, ['manifest.yml:12:7'], ['    at ']],
    [
      'another user error: its message, its exit code',
      new UserError('deployment web not found', 3),
      false,
      3,
      ['error: deployment web not found'],
      ['    at '],
    ],
    [
      'an unexpected error: message, a tip, exit 1, no stack',
      new Error('boom'),
      false,
      1,
      ['unexpected error: boom', 'CONVERGE_DEBUG=1'],
      ['    at '],
    ],
    [
      'an unexpected error while debugging: with its stack',
      new Error('boom'),
      true,
      1,
      ['unexpected error: boom', '    at '],
      [],
    ],
    [
      'something thrown that is not an Error',
      'just a string',
      false,
      1,
      ['unexpected error: just a string'],
      [],
    ],
  ])('%s', (_name, err, debug, exitCode, present, absent) => {
    const described = describeError(err, debug);
    expect(described.exitCode).toBe(exitCode);
    for (const text of present) expect(described.text).toContain(text);
    for (const text of absent) expect(described.text).not.toContain(text);
  });

  it('reportUserError writes to stderr and exits with the code', () => {
    let written = '';
    class Exit extends Error {
      constructor(readonly code: number) {
        super(`exit ${code}`);
      }
    }
    const run = (): never =>
      reportUserError(invalid, {
        stderr: (text) => {
          written += text;
        },
        exit: (code) => {
          throw new Exit(code);
        },
        debug: false,
      });
    expect(run).toThrow(new Exit(2));
    expect(written).toContain("— did you mean 'small'?");
  });
});
