// Node settings the IPVS data plane needs, as kube-proxy sets them: read first, written only when
// different (a restart with everything in place writes nothing), or only reported in check-only
// mode for deployments that may not write /proc/sys (capabilities without privileged: true).
import { SysctlError, type SysctlAccess } from '../sysctl/sysctl.js';
import type { NodeSettingsApplier, ObjectError } from './types.js';

export interface WantedSysctl {
  /** Dotted name, e.g. "net.ipv4.vs.conntrack". */
  name: string;
  value: string;
  /** Why the agent needs it, for messages. */
  reason: string;
}

/** "6.1.0-27-amd64" -> { major: 6, minor: 1 }; undefined when unparsable. */
export function parseKernelRelease(release: string): { major: number; minor: number } | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** True for kernels older than 5.9, where conn_reuse_mode=1 drops SYNs of reused ports (#70747, #93297). */
export function needsConnReuseModeZero(release: string): boolean {
  const v = parseKernelRelease(release);
  if (!v) return false;
  return v.major < 5 || (v.major === 5 && v.minor < 9);
}

export function nodeSysctls(opts: { strictArp: boolean; kernelRelease: string }): WantedSysctl[] {
  const out: WantedSysctl[] = [
    { name: 'net.ipv4.vs.conntrack', value: '1', reason: 'keep conntrack entries for IPVS connections (SNAT for NodePorts)' },
    { name: 'net.ipv4.vs.expire_nodest_conn', value: '1', reason: 'drop connections to deleted real servers at once' },
    { name: 'net.ipv4.vs.expire_quiescent_template', value: '1', reason: 'expire persistence templates of weight-0 real servers' },
    { name: 'net.ipv4.ip_forward', value: '1', reason: 'forward traffic to real servers' },
  ];
  if (needsConnReuseModeZero(opts.kernelRelease)) {
    out.push({ name: 'net.ipv4.vs.conn_reuse_mode', value: '0', reason: 'kernel older than 5.9: avoid 1 s SYN drops on port reuse' });
  }
  if (opts.strictArp) {
    out.push({ name: 'net.ipv4.conf.all.arp_ignore', value: '1', reason: 'strict ARP: answer only for addresses on the receiving interface' });
    out.push({ name: 'net.ipv4.conf.all.arp_announce', value: '2', reason: 'strict ARP: announce the best local source address' });
  }
  return out;
}

export interface NodeSysctlsOptions {
  wanted: readonly WantedSysctl[];
  /** Report values that differ instead of writing them. */
  checkOnly?: boolean;
}

/** Brings the wanted sysctls to their values through a sysctl client, one error per setting. */
export class NodeSysctls implements NodeSettingsApplier {
  constructor(
    private readonly sysctl: SysctlAccess,
    private readonly opts: NodeSysctlsOptions,
  ) {}

  async apply(): Promise<{ writes: number; errors: ObjectError[] }> {
    let writes = 0;
    const errors: ObjectError[] = [];
    for (const w of this.opts.wanted) {
      try {
        const have = await this.sysctl.read(w.name);
        if (have === w.value) continue;
        if (this.opts.checkOnly) {
          errors.push({
            object: `sysctl ${w.name}`,
            operation: 'check',
            code: 'EMISMATCH',
            message: `is ${have}, needs ${w.value} to ${w.reason} (check-only: not written)`,
          });
          continue;
        }
        await this.sysctl.write(w.name, w.value);
        writes++;
      } catch (e) {
        const err = e instanceof SysctlError ? e : new SysctlError(w.name, 'read', 'EIO', String(e));
        errors.push({ object: `sysctl ${w.name}`, operation: err.operation, code: err.code, message: err.message });
      }
    }
    return { writes, errors };
  }
}
