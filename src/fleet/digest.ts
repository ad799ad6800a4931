// A digest of the part of the desired state that must be identical on every node that has seen
// the same Services and EndpointSlices: ClusterIP, externalIP and LoadBalancer virtual servers
// with their cluster-wide endpoints. NodePort virtual servers (bound on each node's own addresses)
// and the endpoints of externalTrafficPolicy Local services (only this node's) differ by design,
// so they are left out. Two nodes at the same resourceVersions with different digests disagree.
import { createHash } from 'node:crypto';
import { realKey, serviceKey } from '../ipvs/keys.js';
import { SvcFlag } from '../ipvs/types.js';
import type { DesiredState, DesiredVirtualServer } from '../model/types.js';

export interface DigestOptions {
  /**
   * Virtual servers whose real servers are filtered per node beyond externalTrafficPolicy Local
   * (internalTrafficPolicy Local, topology hints): their reals are left out of the digest.
   */
  nodeLocalReals?: (vs: DesiredVirtualServer) => boolean;
}

const NODE_INDEPENDENT_KINDS = new Set(['ClusterIP', 'ExternalIP', 'LoadBalancer']);

/**
 * Canonical form: an array sorted by virtual server key, every field in a fixed position, reals
 * sorted by address/port. JSON of arrays only, so key order in objects can never change a digest.
 */
export function nodeIndependentCanonical(state: DesiredState, options: DigestOptions = {}): string {
  const rows: Array<[string, unknown[]]> = [];
  for (const vs of state.virtualServers.values()) {
    if (!NODE_INDEPENDENT_KINDS.has(vs.owner.kind)) continue;
    const s = vs.service;
    const key = serviceKey(s);
    const localOnly = vs.externalLocal || (options.nodeLocalReals?.(vs) ?? false);
    const reals = localOnly
      ? null
      : [...vs.reals]
          .map((r) => [realKey(r), r.forward, r.weight, r.upperThreshold, r.lowerThreshold, r.terminating] as const)
          .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    rows.push([
      key,
      [
        vs.owner.namespace,
        vs.owner.name,
        vs.owner.portName,
        vs.owner.kind,
        s.scheduler,
        s.flags & ~SvcFlag.HASHED,
        s.timeout,
        s.timeout > 0 ? s.netmask : null,
        s.peName ?? '',
        [...vs.sourceRanges].sort(),
        reals,
      ],
    ]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(rows);
}

/** sha256 (hex) of nodeIndependentCanonical(). */
export function nodeIndependentDigest(state: DesiredState, options: DigestOptions = {}): string {
  return createHash('sha256').update(nodeIndependentCanonical(state, options)).digest('hex');
}
