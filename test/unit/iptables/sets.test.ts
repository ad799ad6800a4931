import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidIptablesSettingError } from '../../../src/proxier/iptables-policy/errors.js';
import { iptablesSettingsFrom } from '../../../src/proxier/iptables-policy/index.js';
import { canonicalCidr, ruleDataFrom, setName, SetRole } from '../../../src/proxier/iptables-policy/sets.js';
import { type IpSetMap } from '../../../src/iptables/ipsets.js';
import { manyServices, real, SETTINGS, stateOf, vs } from './fixtures.js';

function entries(sets: IpSetMap, role: SetRole, family: 'inet' | 'inet6' = 'inet'): string[] {
  const set = sets.get(setName(family, role));
  assert.ok(set, `set ${role} exists`);
  return [...set.entries].sort();
}

describe('ruleDataFrom', () => {
  it('puts a ClusterIP in VIP, VIP-PORT and CLUSTER-IP, and its endpoints in LOOP-BACK', () => {
    const state = stateOf([vs({ kind: 'ClusterIP', address: '10.96.0.10', port: 53, protocol: 'UDP', reals: [real('10.244.1.5', 5353)] })]);
    const sets = ruleDataFrom(state, SETTINGS);
    assert.deepEqual(entries(sets, SetRole.VIP), ['10.96.0.10']);
    assert.deepEqual(entries(sets, SetRole.VIP_PORT), ['10.96.0.10,udp:53']);
    assert.deepEqual(entries(sets, SetRole.CLUSTER_IP), ['10.96.0.10,udp:53']);
    assert.deepEqual(entries(sets, SetRole.LOOP_BACK), ['10.244.1.5,udp:5353,10.244.1.5']);
    assert.deepEqual(entries(sets, SetRole.NODE_PORT), []);
    assert.deepEqual(entries(sets, SetRole.EXTERNAL), []);
  });

  it('keeps only endpoints that may be on this node in LOOP-BACK when the node is known', () => {
    const on = (address: string, nodeName?: string) => ({ ...real(address, 9376), ...(nodeName ? { nodeName } : {}) });
    const state = stateOf([
      vs({ kind: 'ClusterIP', address: '10.96.0.10', port: 80, reals: [on('10.244.1.7', 'node-a'), on('10.244.2.3', 'node-b'), on('10.244.3.6')] }),
    ]);
    // A remote pod cannot reach itself through this node; an endpoint of unknown node might be local.
    assert.deepEqual(entries(ruleDataFrom(state, { ...SETTINGS, nodeName: 'node-a' }), SetRole.LOOP_BACK), [
      '10.244.1.7,tcp:9376,10.244.1.7',
      '10.244.3.6,tcp:9376,10.244.3.6',
    ]);
    // Without a node name every masqueraded endpoint is kept, as before.
    assert.equal(entries(ruleDataFrom(state, SETTINGS), SetRole.LOOP_BACK).length, 3);
  });

  it('masquerades node ports, external IPs and LB IPs only with externalTrafficPolicy Cluster', () => {
    const state = stateOf([
      vs({ kind: 'NodePort', address: '192.168.0.10', port: 30080 }),
      vs({ kind: 'NodePort', address: '192.168.0.10', port: 30081, externalLocal: true }),
      vs({ kind: 'ExternalIP', address: '172.16.0.1', port: 80, protocol: 'SCTP' }),
      vs({ kind: 'ExternalIP', address: '172.16.0.2', port: 80, externalLocal: true }),
      vs({ kind: 'LoadBalancer', address: '172.17.0.1', port: 443 }),
      vs({ kind: 'LoadBalancer', address: '172.17.0.2', port: 443, externalLocal: true }),
    ]);
    const sets = ruleDataFrom(state, SETTINGS);
    assert.deepEqual(entries(sets, SetRole.NODE_PORT), ['192.168.0.10,tcp:30080']);
    assert.deepEqual(entries(sets, SetRole.EXTERNAL), ['172.16.0.1,sctp:80', '172.17.0.1,tcp:443']);
    // Every served address:port is declared, whatever its policy.
    assert.equal(entries(sets, SetRole.VIP_PORT).length, 6);
    assert.deepEqual(entries(sets, SetRole.VIP), ['172.16.0.1', '172.16.0.2', '172.17.0.1', '172.17.0.2']);
  });

  it('turns loadBalancerSourceRanges into LB-FW and LB-SOURCE-CIDR entries in kernel form', () => {
    const state = stateOf([
      vs({ kind: 'LoadBalancer', address: '172.17.0.1', port: 443, sourceRanges: ['203.0.113.7/24', '198.51.100.9/32', '2001:db8::/32'] }),
      vs({ kind: 'LoadBalancer', address: '172.17.0.2', port: 443, sourceRanges: ['0.0.0.0/0'] }),
      vs({ kind: 'LoadBalancer', address: '172.17.0.3', port: 443, sourceRanges: ['2001:db8::/32'] }),
      vs({ kind: 'LoadBalancer', address: '172.17.0.4', port: 443, sourceRanges: ['not-a-cidr'] }),
      vs({ kind: 'ExternalIP', address: '172.16.0.1', port: 80, sourceRanges: ['10.0.0.0/8'] }),
    ]);
    const sets = ruleDataFrom(state, SETTINGS);
    // /0 admits everyone: not firewalled. Only another family's ranges: firewalled, nobody admitted.
    assert.deepEqual(entries(sets, SetRole.LB_FIREWALL), ['172.17.0.1,tcp:443', '172.17.0.3,tcp:443']);
    assert.deepEqual(entries(sets, SetRole.LB_SOURCE_CIDR), ['172.17.0.1,tcp:443,198.51.100.9', '172.17.0.1,tcp:443,203.0.113.0/24']);
  });

  it('keeps families apart and writes IPv6 addresses as the kernel prints them', () => {
    const state = stateOf([
      vs({ kind: 'ClusterIP', address: 'fd00:0:0::10', port: 80, reals: [real('fd00:244::0:5', 8080, 'inet6')] }),
      vs({ kind: 'ClusterIP', address: '10.96.0.1', port: 443 }),
    ]);
    const both = ruleDataFrom(state, { ...SETTINGS, families: ['inet', 'inet6'] });
    assert.deepEqual(entries(both, SetRole.CLUSTER_IP, 'inet6'), ['fd00::10,tcp:80']);
    assert.deepEqual(entries(both, SetRole.LOOP_BACK, 'inet6'), ['fd00:244::5,tcp:8080,fd00:244::5']);
    assert.deepEqual(entries(both, SetRole.CLUSTER_IP, 'inet'), ['10.96.0.1,tcp:443']);
    const v4only = ruleDataFrom(state, SETTINGS);
    assert.equal(v4only.has(setName('inet6', SetRole.CLUSTER_IP)), false);
  });

  it('skips firewall-mark services and real servers that are not masqueraded', () => {
    const state = stateOf([vs({ kind: 'ClusterIP', address: '10.96.0.1', port: 80, reals: [{ ...real('10.244.0.9', 80), forward: 'route' }] })]);
    const fwm = { ...vs({ kind: 'ClusterIP', address: '10.96.0.2', port: 80 }) };
    fwm.service = { family: 'inet', fwmark: 7, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };
    const withMark = { ...state, virtualServers: new Map([...state.virtualServers, ['FWM/inet/7', fwm]]) };
    const sets = ruleDataFrom(withMark, SETTINGS);
    assert.deepEqual(entries(sets, SetRole.LOOP_BACK), []);
    assert.deepEqual(entries(sets, SetRole.VIP_PORT), ['10.96.0.1,tcp:80']);
  });

  it('fills CLUSTER-CIDR from --cluster-cidr of the family and rejects a malformed one', () => {
    const sets = ruleDataFrom(stateOf([]), { ...SETTINGS, clusterCidr: ['10.244.3.0/16', 'fd00:244::/48'] });
    assert.deepEqual(entries(sets, SetRole.CLUSTER_CIDR), ['10.244.0.0/16']);
    assert.throws(() => ruleDataFrom(stateOf([]), { ...SETTINGS, clusterCidr: ['10.244.0.0/33'] }), InvalidIptablesSettingError);
  });

  it('has the same sets, only more entries, at 1 and 1,000 services', () => {
    const one = ruleDataFrom(manyServices(1), SETTINGS);
    const thousand = ruleDataFrom(manyServices(1000), SETTINGS);
    assert.deepEqual([...one.keys()], [...thousand.keys()]);
    assert.equal(thousand.get(setName('inet', SetRole.CLUSTER_IP))?.entries.size, 1000);
    assert.equal(thousand.get(setName('inet', SetRole.NODE_PORT))?.entries.size, 1000);
    assert.equal(thousand.get(setName('inet', SetRole.EXTERNAL))?.entries.size, 1500);
    assert.equal(thousand.get(setName('inet', SetRole.LOOP_BACK))?.entries.size, 2000);
  });
});

describe('canonicalCidr', () => {
  it('normalises to the network address and drops a host prefix', () => {
    assert.deepEqual(canonicalCidr('10.1.2.3/8'), { family: 'inet', text: '10.0.0.0/8', prefix: 8 });
    assert.deepEqual(canonicalCidr('10.1.2.3'), { family: 'inet', text: '10.1.2.3', prefix: 32 });
    assert.deepEqual(canonicalCidr('2001:DB8:0::1/128'), { family: 'inet6', text: '2001:db8::1', prefix: 128 });
    assert.equal(canonicalCidr('300.1.1.1/8'), undefined);
  });
});

describe('iptablesSettingsFrom', () => {
  it('takes the agent settings the rules depend on, for the given families', () => {
    const s = iptablesSettingsFrom({ masqueradeAll: true, clusterCidr: ['10.244.0.0/16'], masqueradeBit: 15 }, ['inet6']);
    assert.deepEqual(s, { masqueradeAll: true, clusterCidr: ['10.244.0.0/16'], masqueradeBit: 15, families: ['inet6'] });
    const named = iptablesSettingsFrom({ masqueradeAll: false, clusterCidr: [], masqueradeBit: 14, nodeName: 'node-a' }, ['inet']);
    assert.equal(named.nodeName, 'node-a');
  });
});
