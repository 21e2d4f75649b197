// The work behind `converge plan -d NAME`: the deployment's own operation observes the cloud and plans
// the manifest as a dry run (read-only: nothing is created, deleted or recorded but the dry run).
import type { CloudConfig } from '../domain/cloud-config';
import type { Manifest } from '../domain/manifest';
import { UserError } from '../domain/errors';
import { print, withClient } from './commands/common';
import { EXIT } from '../domain/exit-codes';
import { renderResult } from './render-operation';
import { liveDocument, type PlanDocument } from './render-plan';

export async function planLive(
  { manifest, cloudConfig }: { manifest: Manifest; cloudConfig: CloudConfig },
  name: string,
  opts: { observed?: string; recreate?: boolean },
): Promise<PlanDocument | null> {
  if (opts.observed !== undefined)
    throw new UserError('-d and --observed exclude each other: plan live or offline', EXIT.usage);
  if (manifest.name !== name)
    throw new UserError(`-d ${name}: the manifest deploys '${manifest.name}'`, EXIT.usage);
  let planned: PlanDocument | null = null;
  await withClient(async (d) => {
    const status = await d.find(name);
    if (status === null) {
      throw new UserError(
        `no deployment named '${name}'; plan it offline (without -d) until it is deployed`,
        EXIT.usage,
      );
    }
    const ticket = await d.deploy(name, {
      manifest,
      cloudConfig,
      recreate: opts.recreate ?? false,
      dryRun: true,
    });
    const result = await d.wait(ticket);
    if (result.status !== 'planned' || result.plan === null) {
      print(renderResult(result));
      process.exitCode = EXIT.failed;
      return;
    }
    planned = liveDocument(result.plan, manifest, cloudConfig, status.instances, { dryRun: true });
  });
  return planned;
}
