#!/usr/bin/env node
// Deploy a manifest through Converge's public client API and watch it converge, without the CLI:
//   node examples/deploy-and-watch.mjs [manifest.yml] [cloud-config.yml]
// Temporal settings come from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, … as for the CLI.
import { Converge, ValidationError } from 'converge/client';

const [manifest = 'examples/manifest.yml', cloudConfig = 'examples/cloud-config.yml'] = process.argv.slice(2);

const converge = await Converge.connect();
try {
  const ticket = await converge.deploy(manifest, cloudConfig);
  console.log(`started ${ticket.operation} (${ticket.kind}) of deployment ${ticket.deployment}`);

  const result = await converge.follow(
    ticket,
    (p) => console.log(`  ${p.phase}: ${p.stepsDone}/${p.stepsTotal} steps, ${p.inFlight.length} in flight`),
    250,
  );
  const { create, replace, delete: deleted, keep } = result.summary;
  console.log(
    `${result.operation}: ${result.status} (create ${create}, replace ${replace}, delete ${deleted}, keep ${keep})`,
  );

  const status = await converge.status(ticket.deployment);
  console.log(`${status.instances.length} instances`);
  for (const row of status.instances)
    console.log(`  ${row.instance}  ${row.vm_state ?? '-'}  ${row.ips.join(', ')}`);
  process.exitCode = result.status === 'converged' ? 0 : 1;
} catch (err) {
  if (!(err instanceof ValidationError)) throw err;
  console.error(err.message);
  process.exitCode = 2;
} finally {
  await converge.close();
}
