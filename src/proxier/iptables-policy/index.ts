// The iptables policy of ipvs-proxy: SNAT and VIP filtering at a constant rule count, computed
// from the desired state (rules.ts, sets.ts, restore.ts) and kept in place by manager.ts through
// the tools' client in src/iptables/.
//
// Rules (per family; the same 20 rules, 21 with --cluster-cidr, at any number of services):
//   nat    PREROUTING, OUTPUT -> IPVS-PROXY-SERVICES: marks with the masquerade bit (default 0x4000)
//            ClusterIP traffic when --masquerade-all or from outside --cluster-cidr, host traffic
//            sourced from a VIP, node ports and external/LB IPs of externalTrafficPolicy Cluster.
//          POSTROUTING -> IPVS-PROXY-POSTROUTING: MASQUERADE (--random-fully when supported) for
//            hairpin (LOOP-BACK dst,dst,src) and for marked packets, clearing the bit.
//   filter INPUT -> IPVS-PROXY-INPUT: LB addresses with loadBalancerSourceRanges go through
//            IPVS-PROXY-SOURCE-RANGES (admit LB-SOURCE-CIDR, drop the rest); new TCP/UDP/SCTP
//            connections to a VIP on a port IPVS does not serve are rejected (kubernetes#72236).
//          FORWARD -> IPVS-PROXY-FORWARD: accepts replies of established connections, so a FORWARD
//            policy of DROP (Docker sets one) does not cut IPVS replies.
// Sets (IPVS-PROXY-* for IPv4, IPVS-PROXY6-* for IPv6) carry every per-service fact; see sets.ts.
// externalTrafficPolicy Local needs no exclusion set: such addresses are simply left out of the
// sets that mark for masquerade.
import type { Settings } from '../../config/settings.js';
import type { Family } from '../../vocabulary/ipvs.js';
import type { IptablesSettings } from './sets.js';

/** The iptables settings of the agent's settings, for the families this node serves. */
export function iptablesSettingsFrom(
  settings: Pick<Settings, 'masqueradeAll' | 'clusterCidr' | 'masqueradeBit'> & { nodeName?: string },
  families: readonly Family[],
): IptablesSettings {
  return {
    masqueradeAll: settings.masqueradeAll,
    clusterCidr: [...settings.clusterCidr],
    masqueradeBit: settings.masqueradeBit,
    families: [...families],
    ...(settings.nodeName !== undefined ? { nodeName: settings.nodeName } : {}),
  };
}
