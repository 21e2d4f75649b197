// Each kind of step as the activity that does it: the input it takes (alone, or as a chain's link)
// and what its result leaves for later steps and the records.
import { ApplicationFailure } from '@temporalio/workflow';
import type {
  AssociateResult,
  ChainLink,
  ChainResult,
  CreateVmInput,
  CreateVmResult,
  FailureBudget,
} from '../domain/activities';
import { ACTION_OF } from '../planner';
import type { CreateVmStep, PowerStep, Step } from '../planner/types';
import { actions, BUILD_OPTIONS, builds, chains, cheapSteps } from './activities';
import type { OperationLimits, StepResult } from './types';

/** Which kind of step may follow which in a chain (one activity runs the links back to back). */
export const CHAINS_INTO: Partial<Record<Step['kind'], Step['kind']>> = {
  'associate-vm-to-instance': 'delete-server',
  'delete-server': 'release-quota',
};

/** The kinds a batch of chains carries, a step that chains into nothing as a chain of one (see linkOf). */
const LINK_KINDS: ReadonlySet<Step['kind']> = new Set([
  'associate-vm-to-instance',
  'delete-server',
  'release-quota',
  'detach-disk',
  'delete-disk',
]);

export function isLink(step: Step): boolean {
  return LINK_KINDS.has(step.kind);
}

export interface StepContext {
  deployment: string;
  /** The operation component of create-vm's idempotency keys and tag (incarnation.ts keyedOperation). */
  operation: string;
  limits: OperationLimits;
  /** Results of the steps done so far (a create's server, an associate's volume). */
  results: Map<string, StepResult>;
  /** When a persistent failure ends a step (the manifest's `update:`); absent: the activities' default. */
  budget?: FailureBudget;
}

export class StepActivities {
  private readonly cheap = cheapSteps();

  constructor(private readonly ctx: StepContext) {}

  /** Starts the step's activity; its promise resolves with the activity's own result (see resultOf). */
  call(step: Step): Promise<unknown> {
    switch (step.kind) {
      case 'create-vm':
        return builds.createVm.executeWithOptions({ ...BUILD_OPTIONS, summary: step.summary }, [
          this.createInput(step),
        ]);
      case 'associate-vm-to-instance':
      case 'delete-server':
      case 'release-quota':
      case 'detach-disk':
      case 'delete-disk':
        return this.callLink(step.summary, this.linkOf(step));
      case 'power-off':
      case 'power-on':
      case 'reboot':
        return this.power(step);
    }
  }

  /** A power step: the instance-action activity (its own retry policy) on the kept or the new VM. */
  private power(step: PowerStep): Promise<unknown> {
    const serverId = step.serverId ?? this.serverOf(step);
    return actions.instanceAction.executeWithOptions({ summary: step.summary }, [
      { serverId, action: ACTION_OF[step.kind] },
    ]);
  }

  /** Starts one activity for the whole chain; its summary names every link. */
  callChain(links: Step[]): Promise<ChainResult> {
    const summary = links.map((s) => s.summary).join('; then ');
    return chains.enactChain.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
      { links: links.map((s) => this.linkOf(s)) },
    ]);
  }

  /** The input of a step that can be a chain's link (LINK_KINDS), the same input it takes alone. */
  linkOf(step: Step): ChainLink {
    switch (step.kind) {
      case 'associate-vm-to-instance':
        return {
          kind: step.kind,
          input: {
            deployment: this.ctx.deployment,
            serverId: this.serverOf(step),
            instanceId: step.instanceId,
            disk: step.disk,
            ...(this.ctx.budget ? { budget: this.ctx.budget } : {}),
          },
        };
      case 'delete-server':
        return { kind: step.kind, input: { serverId: step.serverId } };
      case 'release-quota':
        return { kind: step.kind, input: { allocationId: step.allocationId, serverId: step.serverId } };
      case 'detach-disk':
        return { kind: step.kind, input: { volumeId: step.volumeId, serverId: step.serverId } };
      case 'delete-disk':
        return { kind: step.kind, input: { volumeId: step.volumeId } };
      default:
        throw ApplicationFailure.nonRetryable(`a ${step.kind} step does not chain`, 'Internal');
    }
  }

  createInput(step: CreateVmStep): CreateVmInput {
    return {
      deployment: this.ctx.deployment,
      operation: this.ctx.operation,
      claim: step.claim,
      pool: step.pool,
      quota: step.quota,
      spec: step.spec,
      buildDeadlineMs: this.ctx.limits.buildDeadlineMs,
      ...(this.ctx.budget ? { budget: this.ctx.budget } : {}),
    };
  }

  /** What a finished step leaves for later steps and the records: the VM it made or associated. */
  resultOf(step: Step, raw: unknown): StepResult | null {
    switch (step.kind) {
      case 'create-vm': {
        const r = raw as CreateVmResult;
        return { serverId: r.serverId, allocationId: r.allocationId };
      }
      case 'associate-vm-to-instance':
        return { serverId: this.serverOf(step), volumeId: (raw as AssociateResult).volumeId };
      default:
        return null;
    }
  }

  /** Starts a step that can be a link on its own, with the same input it would have as a link. */
  private callLink(summary: string, link: ChainLink): Promise<unknown> {
    switch (link.kind) {
      case 'associate-vm-to-instance':
        return this.cheap.associateVmToInstance(summary, link.input);
      case 'delete-server':
        return builds.deleteServer.executeWithOptions({ ...BUILD_OPTIONS, summary }, [link.input]);
      case 'release-quota':
        return this.cheap.releaseQuota(summary, link.input);
      case 'detach-disk':
        return this.cheap.detachDisk(summary, link.input);
      case 'delete-disk':
        return this.cheap.deleteDisk(summary, link.input);
    }
  }

  /** The server the unit's create-vm made; a step that needs one cannot run without it. */
  private serverOf(step: Step & { createStep: string | null; existingServer?: string }): string {
    if (step.existingServer !== undefined) return step.existingServer;
    const serverId = step.createStep === null ? undefined : this.ctx.results.get(step.createStep)?.serverId;
    if (!serverId)
      throw ApplicationFailure.nonRetryable(
        `no server recorded for ${step.createStep ?? step.id}`,
        'Internal',
      );
    return serverId;
  }
}
