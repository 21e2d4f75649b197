// The CLI as a script sees it, through the real binary: exit codes, --version, usage errors, and
// confirmation without a terminal. None of these needs a Temporal server (the live half is
// usage.live.test.ts, in the integration project).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { EXIT } from '../../src/domain/exit-codes';
import { buildProgram } from '../../src/program';
import { runConverge } from '../support/cli';

const MANIFEST = 'examples/manifest.yml';
const CLOUD = 'examples/cloud-config.yml';
// Nothing listens on port 1: every connection attempt fails.
const NO_TEMPORAL = { ...process.env, CONVERGE_DEBUG: '', TEMPORAL_ADDRESS: '127.0.0.1:1' };

describe('every command', () => {
  // In-process: a child process per command would cost a second or two of CPU each.
  const leaves = (c: Command): Command[] => (c.commands.length === 0 ? [c] : c.commands.flatMap(leaves));
  const commands = leaves(buildProgram()).filter((c) => c.name() !== 'help');

  it.each(commands.map((c) => [fullName(c), c] as const))('%s --help lists its exit codes', (_, c) => {
    let help = '';
    c.configureOutput({ writeOut: (text) => (help += text) });
    c.outputHelp();
    expect(help).toMatch(/Exit codes:\n {4}0 {2}\S/);
    expect(help).toMatch(/^ {4}2 {2}\S/m);
  });
});

function fullName(c: Command): string {
  return c.parent && c.parent.parent ? `${fullName(c.parent)} ${c.name()}` : c.name();
}

describe.concurrent('converge usage', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const run = await runConverge(['--version']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('an unknown option: exit 2, one error line and a hint, not the whole help', async () => {
    const run = await runConverge(['plan', MANIFEST, '-c', CLOUD, '--bogus']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe("error: unknown option '--bogus'\n(see 'converge plan --help')\n");
    expect(run.stdout).toBe('');
  });

  it('a missing required option: exit 2, not commander\'s 1 (which is "failed")', async () => {
    const run = await runConverge(['deploy', MANIFEST]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("required option '-c, --cloud-config <file>' not specified");
    expect(run.stderr).not.toContain('Usage:');
  });

  it('an unknown command: exit 2 with a suggestion', async () => {
    const run = await runConverge(['deploi']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("unknown command 'deploi'");
    expect(run.stderr).toContain('deploy');
  });

  it('a deployment command without -d: exit 2 naming what is missing', async () => {
    const run = await runConverge(['status'], { env: { ...NO_TEMPORAL, CONVERGE_DEPLOYMENT: '' } });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('no deployment given: pass -d NAME');
  });

  it('--help: exit 0, the exit codes listed', async () => {
    const run = await runConverge(['plan', '--help']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/Exit codes:\n {4}0 {2}planned/);
  });

  it('cannot reach Temporal: exit 4 (-d before the command, as BOSH)', async () => {
    const run = await runConverge(['-d', 'web', 'status'], { env: NO_TEMPORAL });
    expect(run.code, run.stderr).toBe(EXIT.unreachable);
    expect(run.stderr).toContain('cannot reach Temporal');
  });

  it('delete without a terminal and without --yes: exit 5 before connecting', async () => {
    const run = await runConverge(['delete', '-d', 'web'], { env: NO_TEMPORAL });
    expect(run.code).toBe(EXIT.notConfirmed);
    expect(run.stderr).toContain('refusing without a terminal to confirm on; pass --yes');
  });

  it('cck: an unknown --resolution is exit 2 naming the option and the known ones; a resolution without a terminal or --yes is exit 5, both before connecting', async () => {
    const bad = await runConverge(['cck', '-d', 'web', '--resolution', 'reboot'], { env: NO_TEMPORAL });
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain("--resolution: unknown resolution 'reboot'");
    expect(bad.stderr).toContain('recreate-vm, delete-vm-reference, reattach-disk, delete-orphan, ignore');
    const unasked = await runConverge(['cck', '-d', 'web', '--resolution', 'delete-orphan'], {
      env: NO_TEMPORAL,
    });
    expect(unasked.code).toBe(EXIT.notConfirmed);
    // A report changes nothing, so it asks nothing: it goes on to Temporal (unreachable here).
    const report = await runConverge(['cck', '-d', 'web'], { env: NO_TEMPORAL });
    expect(report.code, report.stderr).toBe(EXIT.unreachable);
  });

  it('delete --yes without a terminal goes on (to Temporal, unreachable here: exit 4)', async () => {
    for (const args of [
      ['delete', '-d', 'web', '--yes'],
      ['-n', '-d', 'web', 'delete'],
    ]) {
      const run = await runConverge(args, { env: NO_TEMPORAL });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(EXIT.unreachable);
    }
  });

  it('plan --detailed-exitcode: 3 when the plan has changes, 0 when it has none', async () => {
    const changes = await runConverge(['plan', MANIFEST, '-c', CLOUD, '--detailed-exitcode']);
    expect(changes.code, changes.stderr).toBe(EXIT.changes);
    const plain = await runConverge(['plan', MANIFEST, '-c', CLOUD]);
    expect(plain.code).toBe(EXIT.ok);

    const dir = mkdtempSync(join(tmpdir(), 'converge-usage-'));
    const empty = join(dir, 'empty.yml');
    const text = readFileSync(MANIFEST, 'utf8').replace(/instance_groups:[\s\S]*$/, 'instance_groups: []\n');
    writeFileSync(empty, text);
    const none = await runConverge(['plan', empty, '-c', CLOUD, '--detailed-exitcode']);
    expect(none.code, none.stderr + none.stdout).toBe(EXIT.ok);
  });
});

describe('JSON output', () => {
  it('has snake_case keys only, whatever the view it comes from', async () => {
    const { snakeKeys } = await import('../../src/client/json');
    expect(
      snakeKeys({ manifestDigest: 'x', current: { workflowId: 'w', seq: 1 }, recent: [{ stepsDone: 2 }] }),
    ).toEqual({ manifest_digest: 'x', current: { workflow_id: 'w', seq: 1 }, recent: [{ steps_done: 2 }] });
  });
});
