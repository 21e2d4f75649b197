// instance-action: start, stop or reboot an instance's VM and wait until it shows the result.
// start and stop are idempotent (already there ⇒ nothing sent); reboot by nature is not.
import type { InstanceActionInput } from '../domain/activities';
import type { Server } from '../domain/cloud';
import type { ServerAction } from '../cloud/port';
import type { ActivityDeps } from './deps';
import { asFailures, retryable, RETRYABLE } from './failures';
import { pulse } from './pulse';

export function instanceAction(deps: ActivityDeps): (input: InstanceActionInput) => Promise<Server> {
  return (input) =>
    asFailures(`instance-action ${input.action} ${input.serverId}`, async () => {
      const { cloud, options } = deps;
      const p = pulse(deps.options.heartbeatEveryMs);
      const before = await cloud.getServer(input.serverId);
      if (input.action !== 'reboot' && settled(before, input.action)) return before;
      p.throwIfCancelled();
      let server = await cloud.serverAction(input.serverId, input.action);
      const deadlineAt = Date.now() + options.actionDeadlineMs;
      while (!settled(server, input.action)) {
        if (Date.now() >= deadlineAt) {
          throw retryable(
            RETRYABLE.actionTimeout,
            `${input.action} ${input.serverId}: still ${server.state}/${server.power} after ${options.actionDeadlineMs} ms`,
          );
        }
        p.heartbeat({ serverId: input.serverId, state: server.state, power: server.power });
        await p.sleep(options.pollMs);
        server = await cloud.getServer(input.serverId);
      }
      return server;
    });
}

/** What the server looks like once the action has taken effect. */
function settled(server: Server, action: ServerAction): boolean {
  // SHUTOFF, not merely "power stopped": a BUILD or ERROR server is not running either, yet not stopped.
  if (action === 'stop') return server.state === 'SHUTOFF' && server.power === 'stopped';
  return server.power === 'running' && server.state === 'ACTIVE';
}
