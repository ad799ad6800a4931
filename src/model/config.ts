// The model's configuration and the scheduler vocabulary. Invalid configuration is a startup
// error (typed, thrown); invalid per-service annotations are warnings (see scheduler.ts).
import { SvcFlag, type Family } from '../vocabulary/ipvs.js';
import { parseCidr, type ParsedCidr } from './ip.js';

export interface ModelConfig {
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** Global IPVS scheduler (rr when empty). */
  scheduler: string;
  /** Global scheduler flags: 'sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'. */
  schedulerFlags: readonly string[];
  /** CIDRs and/or the word 'primary'. Empty: every local non-loopback address not on the dummy link. */
  nodePortAddresses: readonly string[];
  /** When set, only objects labelled service.kubernetes.io/service-proxy-name=NAME are ours. */
  serviceProxyName?: string;
  /** Families this node serves; objects of other families are ignored. */
  ipFamilies: readonly Family[];
  /** Name of the dummy link holding the VIPs (kube-ipvs0): its addresses never get NodePorts. */
  dummyLinkName: string;
}

/** Schedulers of the Linux IPVS tree (net/netfilter/ipvs/ip_vs_*.c). */
export const KNOWN_SCHEDULERS: ReadonlySet<string> = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos']);

/** Scheduler flag names as ipvsadm spells them, with the scheduler each belongs to. */
const SCHEDULER_FLAGS: Readonly<Record<string, { scheduler: string; bit: number }>> = {
  'sh-fallback': { scheduler: 'sh', bit: SvcFlag.SCHED1 },
  'sh-port': { scheduler: 'sh', bit: SvcFlag.SCHED2 },
  'mh-fallback': { scheduler: 'mh', bit: SvcFlag.SCHED1 },
  'mh-port': { scheduler: 'mh', bit: SvcFlag.SCHED2 },
};

export interface SchedulerChoice {
  scheduler: string;
  /** SCHED* bits only. */
  flags: number;
}

export type SchedulerProblem =
  { kind: 'unknown-scheduler'; scheduler: string } | { kind: 'unknown-flag'; flag: string } | { kind: 'flag-mismatch'; flag: string; scheduler: string };

/**
 * Resolves a scheduler and its flags to IPVS flag bits. mh always gets mh-port, as kube-proxy
 * does (it sets IP_VS_SVC_F_SCHED2 whenever the scheduler is mh): without the port in the hash,
 * every connection of one client lands on the same real server.
 */
export function resolveScheduler(
  scheduler: string,
  flagNames: readonly string[],
): { ok: true; choice: SchedulerChoice } | { ok: false; problem: SchedulerProblem } {
  const name = scheduler === '' ? 'rr' : scheduler;
  if (!KNOWN_SCHEDULERS.has(name)) return { ok: false, problem: { kind: 'unknown-scheduler', scheduler } };
  let flags = name === 'mh' ? SvcFlag.SCHED2 : 0;
  for (const flag of flagNames) {
    const known = Object.prototype.hasOwnProperty.call(SCHEDULER_FLAGS, flag) ? SCHEDULER_FLAGS[flag] : undefined;
    if (!known) return { ok: false, problem: { kind: 'unknown-flag', flag } };
    if (known.scheduler !== name) return { ok: false, problem: { kind: 'flag-mismatch', flag, scheduler: name } };
    flags |= known.bit;
  }
  return { ok: true, choice: { scheduler: name, flags } };
}

export function describeSchedulerProblem(p: SchedulerProblem): string {
  switch (p.kind) {
    case 'unknown-scheduler':
      return `unknown IPVS scheduler "${p.scheduler}"`;
    case 'unknown-flag':
      return `unknown scheduler flag "${p.flag}" (known: ${Object.keys(SCHEDULER_FLAGS).join(', ')})`;
    case 'flag-mismatch':
      return `scheduler flag "${p.flag}" does not apply to scheduler "${p.scheduler}"`;
  }
}

export class ModelConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${setting} "${value}": ${reason}`);
    this.name = 'ModelConfigError';
  }
}

export type NodePortSelector = { mode: 'all' } | { mode: 'select'; primary: boolean; cidrs: readonly ParsedCidr[] };

/** Configuration checked once, in the shape the per-service computation needs. */
export interface ResolvedConfig {
  nodeName: string;
  scheduler: SchedulerChoice;
  nodePorts: NodePortSelector;
  serviceProxyName?: string;
  families: ReadonlySet<Family>;
  dummyLinkName: string;
}

export function resolveConfig(config: ModelConfig): ResolvedConfig {
  if (config.nodeName === '') throw new ModelConfigError('nodeName', '', 'must not be empty');
  const sched = resolveScheduler(config.scheduler, config.schedulerFlags);
  if (!sched.ok) {
    throw new ModelConfigError('scheduler', `${config.scheduler} ${config.schedulerFlags.join(',')}`.trim(), describeSchedulerProblem(sched.problem));
  }
  if (config.ipFamilies.length === 0) throw new ModelConfigError('ipFamilies', '', 'at least one family is needed');
  let nodePorts: NodePortSelector = { mode: 'all' };
  if (config.nodePortAddresses.length > 0) {
    let primary = false;
    const cidrs: ParsedCidr[] = [];
    for (const entry of config.nodePortAddresses) {
      if (entry === 'primary') {
        primary = true;
        continue;
      }
      const cidr = parseCidr(entry);
      if (!cidr) throw new ModelConfigError('nodePortAddresses', entry, 'neither a CIDR nor "primary"');
      cidrs.push(cidr);
    }
    nodePorts = { mode: 'select', primary, cidrs };
  }
  return {
    nodeName: config.nodeName,
    scheduler: sched.choice,
    nodePorts,
    serviceProxyName: config.serviceProxyName,
    families: new Set(config.ipFamilies),
    dummyLinkName: config.dummyLinkName,
  };
}
