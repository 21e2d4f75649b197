// create-vm: reserve the claim's quota allocation, build a server that consumes it, wait for ACTIVE.
// A server that lands in ERROR, sticks in BUILD, or vanishes is deleted (awaited gone) and the next
// attempt is built under the next idempotency key, against the same allocation.
import type { CreateServerRequest } from '../cloud/port';
import { Gone } from '../cloud/errors';
import { TAG, type Allocation, type Tags } from '../domain/cloud';
import {
  DEFAULT_FAILURE_BUDGET,
  NON_RETRYABLE,
  type CreateVmInput,
  type CreateVmResult,
  type FailureBudget,
} from '../domain/activities';
import { waitContext, type ActivityDeps } from './deps';
import { asFailures, conflictPastBudget, nonRetryable, retryable, RETRYABLE, toFailure } from './failures';
import { ApplicationFailure } from '@temporalio/common';
import { allocationKey, serverKey } from './keys';
import { pulse } from './pulse';
import { awaitBuild, deleteAndAwaitGone } from './waits';

/** What create-vm heartbeats; a retried execution starts from `attempt` instead of walking Gone keys. */
export interface CreateVmProgress {
  allocationId: string;
  attempt: number;
  serverId?: string;
}

export function createVm(deps: ActivityDeps): (input: CreateVmInput) => Promise<CreateVmResult> {
  return (input) =>
    asFailures(`create-vm ${input.deployment} ${input.claim}`, async () => {
      const { options } = deps;
      const p = pulse(deps.options.heartbeatEveryMs);
      p.throwIfCancelled();
      const allocation = await reserve(deps, input);
      const buildDeadlineMs = input.buildDeadlineMs ?? options.buildDeadlineMs;
      const budget = input.budget ?? DEFAULT_FAILURE_BUDGET;
      let attempt = resumedAttempt(p.resumeDetails, allocation.id);
      const failures: string[] = [];

      for (let built = 0; built < options.maxBuildAttempts;) {
        // Every attempt before this one built a server that never became ACTIVE and was deleted
        // (its key answers Gone), in this execution or an earlier one: the persistent-failure count.
        if (attempt - 1 >= budget.failedBuilds) await buildsSpent(deps, input, allocation, budget, failures);
        const details: CreateVmProgress = { allocationId: allocation.id, attempt };
        p.heartbeat(details);
        p.throwIfCancelled();
        const first = await createOrGone(deps, serverRequest(input, allocation, attempt)).catch(
          (err: unknown) =>
            releaseIfUnused(
              deps,
              allocation,
              conflictPastBudget(
                err,
                `create-vm ${input.deployment} ${input.claim}`,
                p.firstScheduledAt,
                budget,
              ),
            ),
        );
        if (first === 'gone') {
          // An earlier execution built this attempt and deleted it: move on without spending budget.
          attempt += 1;
          continue;
        }
        built += 1;
        const ctx = waitContext(deps, p, { ...details, serverId: first.id });
        const outcome = await awaitBuild(ctx, first, buildDeadlineMs);
        if (outcome.kind === 'built') {
          return { serverId: outcome.server.id, allocationId: allocation.id, attempts: attempt };
        }
        if (outcome.kind === 'failed') {
          const fault = outcome.server.fault;
          failures.push(
            `server ${outcome.server.id} ${outcome.why}${fault === undefined ? '' : `: ${fault}`}`,
          );
          await deleteAndAwaitGone(ctx, outcome.server.id, options.deleteDeadlineMs);
        } else {
          failures.push(`server ${first.id} vanished while building`);
        }
        attempt += 1;
        p.heartbeat({ allocationId: allocation.id, attempt });
      }
      throw retryable(
        RETRYABLE.buildFailed,
        `create-vm ${input.deployment} ${input.claim}: ${options.maxBuildAttempts} builds without an ACTIVE server (${failures.join('; ')})`,
        { allocationId: allocation.id, nextAttempt: attempt },
      );
    });
}

/**
 * The build budget is spent: release the allocation (every server built for it was deleted and
 * awaited gone) and fail the step for good with what the cloud said about the builds.
 */
async function buildsSpent(
  deps: ActivityDeps,
  input: CreateVmInput,
  allocation: Allocation,
  budget: FailureBudget,
  failures: readonly string[],
): Promise<never> {
  const said = failures.length > 0 ? failures.join('; ') : 'the failed builds were in earlier attempts';
  return releaseIfUnused(
    deps,
    allocation,
    nonRetryable(
      NON_RETRYABLE.buildsFailed,
      `create-vm ${input.deployment} ${input.claim}: ${budget.failedBuilds} build${budget.failedBuilds === 1 ? '' : 's'} ended without an ACTIVE server (update.max_failed_builds ${budget.failedBuilds}): ${said}`,
    ),
  );
}

/** Reserves (or finds again, same key) the claim's allocation; QuotaExceeded is non-retryable. */
function reserve(deps: ActivityDeps, input: CreateVmInput): Promise<Allocation> {
  return deps.cloud.createAllocation({
    pool: input.pool,
    key: allocationKey(input),
    cpus: input.quota.cpus,
    memory_mb: input.quota.memory_mb,
    instances: input.quota.instances,
    tags: ownership(input),
  });
}

/**
 * A create the cloud refuses for good (unknown image, invalid spec, no permission) would leave the
 * allocation reserved for nothing: release it while no server consumes it, then fail as before. A
 * release that fails is left to the next plan (a stray allocation), never allowed to mask the cause.
 */
async function releaseIfUnused(deps: ActivityDeps, allocation: Allocation, err: unknown): Promise<never> {
  const failure = toFailure(err, 'create server');
  if (failure instanceof ApplicationFailure && failure.nonRetryable) {
    try {
      const holders = await deps.cloud.listServers({ [TAG.allocation]: allocation.id });
      if (holders.length === 0) await deps.cloud.deleteAllocation(allocation.id);
    } catch {
      // stray allocation: the next reconcile releases it
    }
  }
  throw err;
}

async function createOrGone(deps: ActivityDeps, request: CreateServerRequest) {
  try {
    return await deps.cloud.createServer(request);
  } catch (err) {
    if (err instanceof Gone) return 'gone' as const;
    throw err;
  }
}

function serverRequest(input: CreateVmInput, allocation: Allocation, attempt: number): CreateServerRequest {
  const { spec } = input;
  const request: CreateServerRequest = {
    name: spec.name,
    cpus: spec.cpus,
    memory_mb: spec.memory_mb,
    disk_gb: spec.disk_gb,
    image: spec.image,
    az: spec.az,
    network: spec.network,
    // The input's identity wins over whatever the spec says: these tags are how we find it again.
    tags: { ...spec.tags, ...ownership(input), [TAG.allocation]: allocation.id },
    idempotency_key: serverKey(input, attempt),
  };
  if (spec.static_ip !== null) request.static_ip = spec.static_ip;
  if (spec.user_data !== null) request.user_data = spec.user_data;
  // The cloud config's subnet: where every cloud takes a dynamic address from.
  if (spec.addressing !== undefined) request.addressing = spec.addressing;
  if (spec.cloud_properties !== undefined) request.cloud_properties = spec.cloud_properties;
  return request;
}

function ownership(input: CreateVmInput): Tags {
  return { [TAG.deployment]: input.deployment, [TAG.claim]: input.claim, [TAG.operation]: input.operation };
}

/** Fail-closed parse of the last heartbeat: only a progress record for this very allocation counts. */
function resumedAttempt(details: unknown, allocationId: string): number {
  if (typeof details !== 'object' || details === null) return 1;
  const { attempt, allocationId: recorded } = details as Partial<Record<keyof CreateVmProgress, unknown>>;
  if (recorded !== allocationId) return 1;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 1 ? attempt : 1;
}
