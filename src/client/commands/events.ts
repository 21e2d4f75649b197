// `converge events -d NAME [--since 2h] [--json]`: the deployment's event log (operations: who, what,
// result; state changes the watch and operations saw), newest last.
import type { Command } from 'commander';
import { exitCodesHelp, READ_CODES } from '../../domain/exit-codes';
import type { ConvergeEvent } from '../../domain/events';
import { parseDurationFlag } from '../duration';
import { withUserErrors } from '../errors';
import { toJson } from '../json';
import { table } from '../render-operation';
import { addDeploymentOption, deploymentName, print, withClient } from './common';

export function registerEvents(program: Command): void {
  addDeploymentOption(
    program
      .command('events')
      .description("Show a deployment's event log: operations and state changes, newest last"),
  )
    .option('--since <duration>', 'only events of the last 90s, 45m, 12h, 30d ...')
    .option('--json', 'print JSON')
    .addHelpText('after', exitCodesHelp(READ_CODES))
    .action(
      withUserErrors(async (opts: { since?: string; json?: boolean }, cmd: Command) => {
        const name = deploymentName(cmd);
        const sinceMs = opts.since === undefined ? null : parseDurationFlag('--since', opts.since);
        await withClient(async (d) => {
          const log = await d.events(name);
          const from = sinceMs === null ? null : new Date(Date.now() - sinceMs).toISOString();
          const events = from === null ? log.events : log.events.filter((e) => e.at >= from);
          if (opts.json) print(toJson({ events, dropped: log.dropped }));
          else print(renderEvents(name, events, log.dropped));
        });
      }),
    );
}

export function renderEvents(name: string, events: readonly ConvergeEvent[], dropped: number): string {
  const lines: string[] = [];
  if (dropped > 0) lines.push(`(${dropped} older events dropped: the log keeps the newest)`);
  if (events.length === 0) lines.push(`No events for deployment '${name}'.`);
  else
    lines.push(
      table([
        ['TIME', 'EVENT', 'INSTANCE', 'CHANGE', 'DETAIL'],
        ...events.map((e) => [
          e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          e.type,
          e.instance ?? '-',
          e.old === null && e.new === null ? '-' : `${e.old ?? '-'} → ${e.new ?? '-'}`,
          e.detail ?? '',
        ]),
      ]),
    );
  return lines.join('\n');
}
