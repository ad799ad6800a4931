// The iptables rules, as data. The same rules serve 1 or 100,000 services: every per-service fact
// lives in the ipsets of sets.ts. Rules are written in the exact form iptables-save prints them, so
// what is read back from the kernel compares equal to what was rendered.
import type { Family } from '../../vocabulary/ipvs.js';
import { InvalidIptablesSettingError } from './errors.js';
import { clusterCidrsOf, setName, SetRole, type IptablesSettings } from './sets.js';

export type Table = 'nat' | 'filter';

export const Chain = {
  /** nat, from PREROUTING and OUTPUT: marks service traffic that must be masqueraded. */
  SERVICES: 'IPVS-PROXY-SERVICES',
  /** nat: sets the masquerade mark. */
  MARK_MASQ: 'IPVS-PROXY-MARK-MASQ',
  /** nat, from POSTROUTING: masquerades marked and hairpin traffic. */
  POSTROUTING: 'IPVS-PROXY-POSTROUTING',
  /** filter, from INPUT: loadBalancerSourceRanges and undeclared ports on VIPs. */
  INPUT: 'IPVS-PROXY-INPUT',
  /** filter: drops sources outside loadBalancerSourceRanges. */
  SOURCE_RANGES: 'IPVS-PROXY-SOURCE-RANGES',
  /** filter, from FORWARD: lets replies of IPVS connections through a FORWARD policy of DROP. */
  FORWARD: 'IPVS-PROXY-FORWARD',
} as const;
export type Chain = (typeof Chain)[keyof typeof Chain];

const CHAIN_PREFIX = 'IPVS-PROXY-';

/** True for a chain this project creates. */
export function isOwnChainName(name: string): boolean {
  return name.startsWith(CHAIN_PREFIX);
}

export interface ChainSpec {
  table: Table;
  name: Chain;
  /** Rule specifications without the leading "-A CHAIN ". */
  rules: string[];
}

/** A rule in a built-in chain that sends traffic into one of ours. */
export interface JumpSpec {
  table: Table;
  from: string;
  to: Chain;
  comment: string;
}

export const JUMPS: readonly JumpSpec[] = [
  { table: 'nat', from: 'PREROUTING', to: Chain.SERVICES, comment: 'ipvs-proxy service traffic' },
  { table: 'nat', from: 'OUTPUT', to: Chain.SERVICES, comment: 'ipvs-proxy service traffic' },
  { table: 'nat', from: 'POSTROUTING', to: Chain.POSTROUTING, comment: 'ipvs-proxy SNAT' },
  { table: 'filter', from: 'INPUT', to: Chain.INPUT, comment: 'ipvs-proxy VIP filter and source ranges' },
  { table: 'filter', from: 'FORWARD', to: Chain.FORWARD, comment: 'ipvs-proxy replies of IPVS connections' },
];

export const TABLES: readonly Table[] = ['nat', 'filter'];

/** What the rules need beyond IptablesSettings: facts about the node's iptables. */
export interface RuleOptions {
  /** MASQUERADE --random-fully (iptables >= 1.6.2). */
  randomFully: boolean;
}

/** The mark as iptables-save prints it, e.g. 0x4000 for bit 14. */
export function masqueradeMark(bit: number): string {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) {
    throw new InvalidIptablesSettingError('masqueradeBit', String(bit), 'an integer from 0 to 31');
  }
  return `0x${(2 ** bit).toString(16)}`;
}

function comment(text: string): string {
  return `-m comment --comment "${text}"`;
}

/** Every chain of ours with its rules, for one family. */
export function chainSpecs(family: Family, settings: IptablesSettings, options: RuleOptions): ChainSpec[] {
  const set = (role: SetRole): string => setName(family, role);
  const mark = masqueradeMark(settings.masqueradeBit);
  const masquerade = options.randomFully ? '-j MASQUERADE --random-fully' : '-j MASQUERADE';
  const reject = family === 'inet' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
  const toMasq = `-j ${Chain.MARK_MASQ}`;
  const clusterIp = `-m set --match-set ${set(SetRole.CLUSTER_IP)} dst,dst`;

  const services: string[] = [];
  if (settings.masqueradeAll) {
    services.push(`${comment('ipvs-proxy masquerade all ClusterIP traffic')} ${clusterIp} ${toMasq}`);
  } else if (clusterCidrsOf(settings, family).length > 0) {
    services.push(
      `${comment('ipvs-proxy ClusterIP traffic from outside the cluster CIDR')} ${clusterIp} ` +
        `-m set ! --match-set ${set(SetRole.CLUSTER_CIDR)} src ${toMasq}`,
    );
  }
  // The host reaching a VIP picks the VIP itself (bound on kube-ipvs0) as its source address; a
  // real server elsewhere could not answer that, so such traffic is always masqueraded.
  services.push(
    `${comment('ipvs-proxy host traffic from a VIP')} -m set --match-set ${set(SetRole.VIP)} src ` +
      `-m set --match-set ${set(SetRole.VIP_PORT)} dst,dst ${toMasq}`,
    `${comment('ipvs-proxy node ports')} -m set --match-set ${set(SetRole.NODE_PORT)} dst,dst ${toMasq}`,
    `${comment('ipvs-proxy external and load balancer IPs')} -m set --match-set ${set(SetRole.EXTERNAL)} dst,dst ${toMasq}`,
  );

  const input: string[] = [
    `${comment('ipvs-proxy load balancer source ranges')} -m set --match-set ${set(SetRole.LB_FIREWALL)} dst,dst -j ${Chain.SOURCE_RANGES}`,
  ];
  for (const proto of ['tcp', 'udp', 'sctp']) {
    input.push(
      `-p ${proto} ${comment('ipvs-proxy undeclared port on a VIP')} -m conntrack --ctstate NEW ` +
        `-m set --match-set ${set(SetRole.VIP)} dst -m set ! --match-set ${set(SetRole.VIP_PORT)} dst,dst ` +
        `-j REJECT --reject-with ${reject}`,
    );
  }

  return [
    { table: 'nat', name: Chain.SERVICES, rules: services },
    { table: 'nat', name: Chain.MARK_MASQ, rules: [`-j MARK --set-xmark ${mark}/${mark}`] },
    {
      table: 'nat',
      name: Chain.POSTROUTING,
      rules: [
        `${comment('ipvs-proxy hairpin')} -m set --match-set ${set(SetRole.LOOP_BACK)} dst,dst,src ${masquerade}`,
        `-m mark ! --mark ${mark}/${mark} -j RETURN`,
        // Clear the bit so a packet re-entering the stack (tunnels) is not masqueraded twice.
        `-j MARK --set-xmark ${mark}/0x0`,
        `${comment('ipvs-proxy service traffic requiring SNAT')} ${masquerade}`,
      ],
    },
    { table: 'filter', name: Chain.INPUT, rules: input },
    {
      table: 'filter',
      name: Chain.SOURCE_RANGES,
      rules: [
        `-m set --match-set ${set(SetRole.LB_SOURCE_CIDR)} dst,dst,src -j RETURN`,
        `${comment('ipvs-proxy source outside loadBalancerSourceRanges')} -j DROP`,
      ],
    },
    {
      table: 'filter',
      name: Chain.FORWARD,
      rules: [`${comment('ipvs-proxy replies of IPVS connections')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`],
    },
  ];
}

export function jumpRule(j: JumpSpec): string {
  return `${comment(j.comment)} -j ${j.to}`;
}

/** Number of rules (chain rules and jumps) one family programs. */
export function ruleCount(specs: readonly ChainSpec[]): number {
  return specs.reduce((n, c) => n + c.rules.length, 0) + JUMPS.length;
}
