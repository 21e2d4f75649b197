// `converge cck -d NAME [--resolution R]`: BOSH's cloud check. Without --resolution the deployment's
// own operation observes the cloud and reports the problems (a dry run: nothing changes); with one,
// the resolution is applied to the problems it fits as an ordinary operation, followed like deploy.
import type { Command } from 'commander';
import { UserError } from '../../domain/errors';
import { EXIT, exitCodesHelp, type ExitName } from '../../domain/exit-codes';
import { RESOLUTIONS, type Problem, type Resolution } from '../../planner/cloud-check';
import { confirm, requireAnswerable } from '../confirm';
import { withUserErrors } from '../errors';
import { toJson } from '../json';
import { table } from '../render-operation';
import {
  addDeploymentOption,
  assumeYes,
  deploymentName,
  NON_INTERACTIVE,
  print,
  withClient,
  YES,
} from './common';
import { follow } from './deployments';

const CCK_CODES: readonly ExitName[] = [
  'ok',
  'problems',
  'usage',
  'cancelled',
  'unreachable',
  'notConfirmed',
  'denied',
  'interrupted',
];

interface CckOptions {
  resolution?: string;
  json?: boolean;
}

export function registerCck(program: Command): void {
  addDeploymentOption(
    program
      .command('cck')
      .description('Cloud check: list what is wrong between instances and the cloud, and resolve it'),
  )
    .option('--resolution <r>', `apply one resolution to the problems it fits: ${RESOLUTIONS.join(', ')}`)
    .option('--json', 'print JSON (snake_case)')
    .option(...YES)
    .option(...NON_INTERACTIVE)
    .addHelpText(
      'after',
      `${exitCodesHelp(CCK_CODES, {
        ok: 'no problems (report), or the resolution converged',
        problems: 'problems found (report), or the resolution failed',
      })}\n\n` +
        'Problems: missing-vm, vm-error, unattached-disk, duplicate-server, orphan-server, orphan-volume,\n' +
        'orphan-allocation. A resolution asks first on a terminal; without one it refuses unless --yes.',
    )
    .action(
      withUserErrors(async (opts: CckOptions, cmd: Command) => {
        const name = deploymentName(cmd);
        const resolution = parseResolution(opts.resolution);
        const yes = assumeYes(cmd);
        if (resolution !== null && resolution !== 'ignore') requireAnswerable(`cck ${name}`, yes);
        await withClient(async (d) => {
          const report = await d.wait(await d.cck(name, {}));
          const problems = report.problems ?? [];
          if (resolution === null) {
            if (opts.json) print(toJson({ deployment: name, problems }));
            else print(renderProblems(name, problems));
            process.exitCode =
              report.status !== 'planned' ? EXIT.failed : problems.length ? EXIT.problems : EXIT.ok;
            return;
          }
          const fitting = problems.filter((p) => p.resolutions.includes(resolution));
          if (fitting.length === 0 || resolution === 'ignore') {
            if (opts.json) print(toJson({ deployment: name, resolution, resolved: [], problems }));
            else
              print(`cck ${name}: ${resolution} fits none of ${problems.length} problem(s); nothing to do`);
            return;
          }
          await confirm(
            `cck ${name}`,
            `cck ${name}: ${resolution} for ${fitting.length} problem(s):\n` +
              fitting.map((p) => `  ${p.id}: ${p.description}`).join('\n'),
            yes,
          );
          await follow(d, await d.cck(name, { resolution }), opts);
        });
      }),
    );
}

function parseResolution(value: string | undefined): Resolution | null {
  if (value === undefined) return null;
  const known = RESOLUTIONS.find((r) => r === value);
  if (known) return known;
  throw new UserError(
    `--resolution: unknown resolution '${value}'\nhint: expected one of ${RESOLUTIONS.join(', ')}`,
    EXIT.usage,
  );
}

function renderProblems(name: string, problems: readonly Problem[]): string {
  if (problems.length === 0) return `cck ${name}: no problems`;
  const rows = [['PROBLEM', 'DESCRIPTION', 'RESOLUTIONS']];
  for (const p of problems) rows.push([p.id, p.description, p.resolutions.join(', ')]);
  return `cck ${name}: ${problems.length} problem(s)\n${table(rows)}`;
}
