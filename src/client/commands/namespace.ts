// `converge namespace prepare`: registers Converge's search attributes on the namespace the TEMPORAL_*
// settings name, or, where this caller may not (permission denied, Temporal Cloud), prints the one
// command to run where one may. The dev stack's server gets them at start and needs none of this.
import type { Command } from 'commander';
import { EXIT, exitCodesHelp } from '../../domain/exit-codes';
import { CONNECTION_ENV_HELP, envHelp } from '../../temporal/connection';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPE } from '../../temporal/search-attributes';
import type { Preparation } from '../../temporal/namespace-setup';
import { withUserErrors } from '../errors';
import { toJson } from '../json';
import { connected, print } from './common';

export function registerNamespace(program: Command): void {
  const namespace = program
    .command('namespace')
    .description("Prepare a Temporal namespace for Converge (a cluster's or Temporal Cloud's)");
  namespace
    .command('prepare')
    .description(
      `Register Converge's search attributes (${SEARCH_ATTRIBUTES.join(', ')}, ${SEARCH_ATTRIBUTE_TYPE}) ` +
        'on the namespace; idempotent. Without the rights, prints what to run where one has them',
    )
    .option('--json', 'print a machine-readable result')
    .addHelpText(
      'after',
      [
        envHelp('Temporal connection (environment)', CONNECTION_ENV_HELP),
        exitCodesHelp(['ok', 'failed', 'usage', 'unreachable', 'denied'], {
          ok: 'the namespace has every search attribute Converge needs',
          failed: 'an unexpected error (CONVERGE_DEBUG=1 shows its stack)',
          usage: 'a bad setting, no such namespace, or an attribute registered with another type',
          denied: 'not allowed to register them here (or Temporal Cloud): the command to run is printed',
        }),
      ].join('\n'),
    )
    .action(
      withUserErrors(async (opts: { json?: boolean }) => {
        const { prepareNamespace } = await import('../../temporal/namespace-setup');
        const preparation = await connected((c) =>
          prepareNamespace(c.connection.operatorService, {
            namespace: c.settings.namespace,
            address: c.settings.address,
          }),
        );
        print(opts.json ? toJson(preparation) : describePreparation(preparation));
        if (preparation.outcome === 'not_allowed') process.exitCode = EXIT.denied;
      }),
    );
}

/** What `prepare` did, for a person. */
export function describePreparation(p: Preparation): string {
  if (p.outcome === 'not_allowed') {
    return (
      `namespace "${p.namespace}" lacks ${p.missing.join(', ')} and they cannot be registered from here: ` +
      `${p.reason}. Run this where you have the rights, then start the worker:\n  ${p.command}`
    );
  }
  const added = p.added.length > 0 ? `registered ${p.added.join(', ')}` : '';
  const present = p.present.length > 0 ? `already had ${p.present.join(', ')}` : '';
  return `namespace "${p.namespace}" is ready for Converge: ${[added, present].filter((s) => s !== '').join('; ')}`;
}
