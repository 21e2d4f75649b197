// docs/walkthrough.md, run: every `$ npx converge …` line of its console blocks is executed in order
// through the real binary (node bin/converge.mjs), against a `converge dev up` stack on free ports in a
// temporary directory, and its exit code checked (`# exit N` after the command, else 0). A doc that
// drifts from the CLI fails here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devStackEnv } from '../support/dev-stack';
import { runConverge } from '../support/cli';

interface Step {
  line: number;
  args: string[];
  exit: number;
}

/** The commands of the doc's ```console blocks, in order. */
function walkthroughSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  let inConsole = false;
  markdown.split('\n').forEach((text, i) => {
    if (text.startsWith('```')) inConsole = !inConsole && text.trim() === '```console';
    else if (inConsole && text.startsWith('$ ')) {
      const [command = '', comment = ''] = text.slice(2).split('#');
      const words = command.trim().split(/\s+/);
      if (words[0] !== 'npx' || words[1] !== 'converge')
        throw new Error(`line ${i + 1}: not a converge command`);
      steps.push({ line: i + 1, args: words.slice(2), exit: Number(/exit (\d+)/.exec(comment)?.[1] ?? 0) });
    }
  });
  return steps;
}

const steps = walkthroughSteps(readFileSync('docs/walkthrough.md', 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'converge-walkthrough-'));
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  ({ env } = await devStackEnv(dir));
});

afterAll(async () => {
  // Whatever happened, nothing this file started may outlive it.
  await runConverge(['dev', 'down'], { env, timeoutMs: 60_000 });
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/walkthrough.md', () => {
  it('goes from dev up to dev down', () => {
    expect(steps.map((s) => s.args.slice(0, 2).join(' '))).toEqual([
      'dev up',
      'plan examples/manifest.yml',
      'deploy examples/manifest.yml',
      'status -d',
      'plan -d',
      'deploy examples/manifest-v2.yml',
      'cancel -d',
      'stop -d',
      'start -d',
      'deployments',
      'delete -d',
      'dev down',
    ]);
  });

  // One test: each command depends on the ones before it.
  it('every command exits as the doc says', async () => {
    for (const step of steps) {
      const run = await runConverge(step.args, { env, timeoutMs: 170_000 });
      const what = `line ${step.line}: converge ${step.args.join(' ')}\n${run.stdout}${run.stderr}`;
      expect(run.code, what).toBe(step.exit);
      expect(run.stdout, what).not.toBe('');
    }
  });
});
