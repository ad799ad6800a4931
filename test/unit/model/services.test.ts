import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SvcFlag } from '../../../src/vocabulary/ipvs.js';
import { ModelConfigError } from '../../../src/model/config.js';
import { ServiceModel } from '../../../src/model/service-model.js';
import { config, ep, link, node, service, slice } from './builders.js';
import { assertWarning, desired } from './harness.js';

describe('seed example', () => {
  it('default/hostnames: one rr TCP virtual server with three masq reals and its VIP', () => {
    const out = desired({
      services: [service('hostnames', { clusterIPs: ['10.0.1.175'], ports: [{ port: 80, protocol: 'TCP', targetPort: 9376 }] })],
      slices: [slice('hostnames-abc12', 'hostnames', [ep('10.244.1.7'), ep('10.244.2.3'), ep('10.244.3.6')], [{ port: 9376, protocol: 'TCP' }])],
    });
    assert.deepEqual([...out.vs.keys()], ['TCP/10.0.1.175/80']);
    const vs = out.vs.get('TCP/10.0.1.175/80');
    assert.ok(vs);
    assert.deepEqual(vs.service, {
      family: 'inet',
      protocol: 'TCP',
      address: '10.0.1.175',
      port: 80,
      scheduler: 'rr',
      flags: 0,
      timeout: 0,
      netmask: 32,
    });
    assert.deepEqual(
      vs.reals.map((r) => [r.address, r.port, r.forward, r.weight, r.upperThreshold, r.lowerThreshold]),
      [
        ['10.244.1.7', 9376, 'masq', 1, 0, 0],
        ['10.244.2.3', 9376, 'masq', 1, 0, 0],
        ['10.244.3.6', 9376, 'masq', 1, 0, 0],
      ],
    );
    assert.deepEqual(vs.owner, { namespace: 'default', name: 'hostnames', portName: '', kind: 'ClusterIP' });
    assert.deepEqual(out.addresses, ['10.0.1.175']);
    assert.deepEqual(out.warnings, []);
  });
});

describe('service kinds', () => {
  const links = [
    link('eth0', '192.168.1.10'),
    link('eth0', 'fd00::10'),
    link('lo', '127.0.0.1', 1),
    link('lo', '::1', 1),
    link('kube-ipvs0', '10.0.0.1', 9),
    link('eth1', '10.0.0.1', 3),
  ];
  const table: { name: string; svc: ReturnType<typeof service>; keys: string[]; addresses: string[] }[] = [
    {
      name: 'dual-stack ClusterIP gives one virtual server per cluster IP',
      svc: service('ds', { clusterIPs: ['10.0.0.5', 'fd00::5'] }),
      keys: ['TCP/10.0.0.5/80', 'TCP/fd00::5/80'],
      addresses: ['10.0.0.5', 'fd00::5'],
    },
    {
      name: 'NodePort: one per node address and protocol, loopback and kube-ipvs0 addresses excluded, none bound',
      svc: service('np', {
        type: 'NodePort',
        clusterIPs: ['10.0.0.6'],
        ports: [
          { port: 53, protocol: 'UDP', nodePort: 30053 },
          { port: 53, name: 'tcp', protocol: 'TCP', nodePort: 30053 },
        ],
      }),
      keys: ['TCP/10.0.0.6/53', 'TCP/192.168.1.10/30053', 'UDP/10.0.0.6/53', 'UDP/192.168.1.10/30053'],
      addresses: ['10.0.0.6'],
    },
    {
      name: 'externalIPs are virtual servers and VIPs',
      svc: service('ext', { clusterIPs: ['10.0.0.7'], externalIPs: ['203.0.113.7'] }),
      keys: ['TCP/10.0.0.7/80', 'TCP/203.0.113.7/80'],
      addresses: ['10.0.0.7', '203.0.113.7'],
    },
    {
      name: 'LoadBalancer ingress IPs, except ipMode Proxy and hostname-only entries',
      svc: service('lb', {
        type: 'LoadBalancer',
        clusterIPs: ['10.0.0.8'],
        ports: [{ port: 443, nodePort: 31443 }],
        lbIngress: [{ ip: '198.51.100.8' }, { ip: '198.51.100.9', ipMode: 'Proxy' }, { hostname: 'lb.example' }, { ip: '198.51.100.10', ipMode: 'VIP' }],
      }),
      keys: ['TCP/10.0.0.8/443', 'TCP/192.168.1.10/31443', 'TCP/198.51.100.10/443', 'TCP/198.51.100.8/443'],
      addresses: ['10.0.0.8', '198.51.100.10', '198.51.100.8'],
    },
    {
      name: 'SCTP and multi-port',
      svc: service('multi', {
        clusterIPs: ['10.0.0.9'],
        ports: [
          { name: 'a', port: 1, protocol: 'SCTP' },
          { name: 'b', port: 2, protocol: 'TCP' },
        ],
      }),
      keys: ['SCTP/10.0.0.9/1', 'TCP/10.0.0.9/2'],
      addresses: ['10.0.0.9'],
    },
    {
      name: 'headless is skipped',
      svc: service('headless', { clusterIPs: ['None'] }),
      keys: [],
      addresses: [],
    },
    {
      name: 'ExternalName is skipped',
      svc: service('en', { type: 'ExternalName', clusterIPs: [], spec: { externalName: 'example.com' } }),
      keys: [],
      addresses: [],
    },
    {
      name: "another proxy's service is skipped",
      svc: service('other', { labels: { 'service.kubernetes.io/service-proxy-name': 'cilium' } }),
      keys: [],
      addresses: [],
    },
    {
      name: 'IPv6 is written as inet_ntop writes it',
      svc: service('v6', { clusterIPs: ['FD00:0:0:0:0:0:0:0A'] }),
      keys: ['TCP/fd00::a/80'],
      addresses: ['fd00::a'],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const out = desired({ services: [t.svc], links });
      assert.deepEqual([...out.vs.keys()].sort(), t.keys);
      assert.deepEqual(out.addresses, t.addresses);
    });
  }

  it("loadBalancerSourceRanges: canonical CIDRs of the virtual server's family, on LoadBalancer virtual servers only", () => {
    const lb = service('lb', {
      type: 'LoadBalancer',
      clusterIPs: ['10.0.0.8', 'fd00::8'],
      ports: [{ port: 443, nodePort: 31443 }],
      lbIngress: [{ ip: '198.51.100.8' }, { ip: '2001:db8::8' }],
      spec: { loadBalancerSourceRanges: [' 192.168.7.9/16', 'FD00:1::/48', '0.0.0.0/0'], externalTrafficPolicy: 'Local' },
    });
    const out = desired({ services: [lb], links });
    assert.deepEqual(out.vs.get('TCP/198.51.100.8/443')?.sourceRanges, ['192.168.0.0/16', '0.0.0.0/0']);
    assert.deepEqual(out.vs.get('TCP/2001:db8::8/443')?.sourceRanges, ['fd00:1::/48']);
    assert.deepEqual(out.vs.get('TCP/10.0.0.8/443')?.sourceRanges, []);
    assert.deepEqual(out.vs.get('TCP/192.168.1.10/31443')?.sourceRanges, []);
    assert.equal(out.vs.get('TCP/198.51.100.8/443')?.externalLocal, true);
    assert.equal(out.vs.get('TCP/192.168.1.10/31443')?.owner.kind, 'NodePort');
    assert.equal(out.vs.get('TCP/fd00::10/31443')?.owner.kind, 'NodePort');
    assert.deepEqual(out.addresses, ['10.0.0.8', '198.51.100.8', '2001:db8::8', 'fd00::8']);
  });

  it('nodePortAddresses CIDRs and "primary" select addresses', () => {
    const np = service('np', { type: 'NodePort', clusterIPs: ['10.0.0.6'], ports: [{ port: 80, nodePort: 30080 }] });
    const ls = [link('eth0', '192.168.1.10'), link('eth1', '172.16.0.4', 3), link('lo', '127.0.0.1', 1)];
    const byCidr = desired({ services: [np], links: ls, config: { nodePortAddresses: ['172.16.0.0/12', '127.0.0.0/8'] } });
    assert.deepEqual([...byCidr.vs.keys()].sort(), ['TCP/10.0.0.6/80', 'TCP/127.0.0.1/30080', 'TCP/172.16.0.4/30080']);
    const primary = desired({ services: [np], links: ls, node: node({ internalIPs: ['192.168.1.10'] }), config: { nodePortAddresses: ['primary'] } });
    assert.deepEqual([...primary.vs.keys()].sort(), ['TCP/10.0.0.6/80', 'TCP/192.168.1.10/30080']);
    const noNode = desired({ services: [np], links: ls, config: { nodePortAddresses: ['primary'] } });
    assertWarning(noNode.warnings, 'Node node-a', 'status.addresses');
  });

  it('ipFamilies limits what is served: an IPv4-only node ignores IPv6 cluster IPs quietly', () => {
    const out = desired({ services: [service('ds', { clusterIPs: ['10.0.0.5', 'fd00::5'] })], config: { ipFamilies: ['inet'] } });
    assert.deepEqual([...out.vs.keys()], ['TCP/10.0.0.5/80']);
    assert.deepEqual(out.warnings, []);
  });

  it('serviceProxyName keeps only services labelled with it', () => {
    const mine = service('mine', { clusterIPs: ['10.0.0.1'], labels: { 'service.kubernetes.io/service-proxy-name': 'ipvs-proxy' } });
    const plain = service('plain', { clusterIPs: ['10.0.0.2'] });
    const out = desired({ services: [mine, plain], config: { serviceProxyName: 'ipvs-proxy' } });
    assert.deepEqual([...out.vs.keys()], ['TCP/10.0.0.1/80']);
  });
});

describe('session affinity', () => {
  const table: {
    name: string;
    affinity?: string;
    timeout?: unknown;
    family?: 'v4' | 'v6';
    expect: { timeout: number; netmask: number; persistent: boolean };
    warn?: boolean;
  }[] = [
    { name: 'None', affinity: 'None', expect: { timeout: 0, netmask: 32, persistent: false } },
    { name: 'ClientIP default timeout', affinity: 'ClientIP', expect: { timeout: 10800, netmask: 32, persistent: true } },
    { name: 'ClientIP explicit timeout', affinity: 'ClientIP', timeout: 60, expect: { timeout: 60, netmask: 32, persistent: true } },
    { name: 'ClientIP IPv6 netmask 128', affinity: 'ClientIP', timeout: 60, family: 'v6', expect: { timeout: 60, netmask: 128, persistent: true } },
    { name: 'timeout 0 falls back to the default', affinity: 'ClientIP', timeout: 0, expect: { timeout: 10800, netmask: 32, persistent: true }, warn: true },
    {
      name: 'negative timeout falls back to the default',
      affinity: 'ClientIP',
      timeout: -5,
      expect: { timeout: 10800, netmask: 32, persistent: true },
      warn: true,
    },
    {
      name: 'fractional timeout falls back to the default',
      affinity: 'ClientIP',
      timeout: 1.5,
      expect: { timeout: 10800, netmask: 32, persistent: true },
      warn: true,
    },
    {
      name: 'huge timeout is clamped to a day',
      affinity: 'ClientIP',
      timeout: 10_000_000,
      expect: { timeout: 86400, netmask: 32, persistent: true },
      warn: true,
    },
    { name: 'unknown affinity is None', affinity: 'Cookie', expect: { timeout: 0, netmask: 32, persistent: false }, warn: true },
  ];
  for (const t of table) {
    it(t.name, () => {
      const ip = t.family === 'v6' ? 'fd00::1' : '10.0.0.1';
      const spec: Record<string, unknown> = { sessionAffinity: t.affinity };
      if (t.timeout !== undefined) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: t.timeout } };
      const out = desired({ services: [service('aff', { clusterIPs: [ip], spec })] });
      const vs = [...out.vs.values()][0];
      assert.equal(vs.service.timeout, t.expect.timeout);
      assert.equal(vs.service.netmask, t.expect.netmask);
      assert.equal((vs.service.flags & SvcFlag.PERSISTENT) !== 0, t.expect.persistent);
      if (t.warn) assertWarning(out.warnings, 'Service default/aff', 'spec.session');
      else assert.deepEqual(out.warnings, []);
    });
  }
});

describe('schedulers', () => {
  const table: { name: string; global?: [string, string[]]; annotations?: Record<string, string>; scheduler: string; flags: number; warnField?: string }[] = [
    { name: 'global default rr', scheduler: 'rr', flags: 0 },
    { name: 'global wlc', global: ['wlc', []], scheduler: 'wlc', flags: 0 },
    { name: 'global sh with flags', global: ['sh', ['sh-fallback', 'sh-port']], scheduler: 'sh', flags: SvcFlag.SCHED1 | SvcFlag.SCHED2 },
    { name: 'mh always gets mh-port, as kube-proxy', global: ['mh', []], scheduler: 'mh', flags: SvcFlag.SCHED2 },
    { name: 'mh-fallback adds SCHED1', global: ['mh', ['mh-fallback']], scheduler: 'mh', flags: SvcFlag.SCHED1 | SvcFlag.SCHED2 },
    { name: 'annotation overrides', annotations: { 'ipvs-proxy.io/scheduler': 'lc' }, scheduler: 'lc', flags: 0 },
    {
      name: 'annotation with flags',
      annotations: { 'ipvs-proxy.io/scheduler': 'sh', 'ipvs-proxy.io/scheduler-flags': 'sh-port, sh-fallback' },
      scheduler: 'sh',
      flags: SvcFlag.SCHED1 | SvcFlag.SCHED2,
    },
    {
      name: 'unknown scheduler: warning, global used',
      global: ['wrr', []],
      annotations: { 'ipvs-proxy.io/scheduler': 'magic' },
      scheduler: 'wrr',
      flags: 0,
      warnField: 'metadata.annotations[ipvs-proxy.io/scheduler]',
    },
    {
      name: 'unknown flag: warning, global used',
      annotations: { 'ipvs-proxy.io/scheduler': 'sh', 'ipvs-proxy.io/scheduler-flags': 'sh-turbo' },
      scheduler: 'rr',
      flags: 0,
      warnField: 'metadata.annotations[ipvs-proxy.io/scheduler-flags]',
    },
    {
      name: 'flag of another scheduler: warning, global used',
      annotations: { 'ipvs-proxy.io/scheduler': 'sh', 'ipvs-proxy.io/scheduler-flags': 'mh-port' },
      scheduler: 'rr',
      flags: 0,
      warnField: 'metadata.annotations[ipvs-proxy.io/scheduler-flags]',
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const cfg = t.global ? { scheduler: t.global[0], schedulerFlags: t.global[1] } : {};
      const out = desired({ services: [service('s', { annotations: t.annotations })], config: cfg });
      const vs = [...out.vs.values()][0];
      assert.equal(vs.service.scheduler, t.scheduler);
      assert.equal(vs.service.flags, t.flags);
      if (t.warnField) assertWarning(out.warnings, 'Service default/s', t.warnField);
      else assert.deepEqual(out.warnings, []);
    });
  }

  it('an invalid global scheduler, flag or nodePortAddresses entry is a typed configuration error', () => {
    assert.throws(() => new ServiceModel(config({ scheduler: 'magic' })), ModelConfigError);
    assert.throws(() => new ServiceModel(config({ scheduler: 'rr', schedulerFlags: ['sh-port'] })), ModelConfigError);
    assert.throws(
      () => new ServiceModel(config({ nodePortAddresses: ['10.0.0.0/33'] })),
      (e: unknown) => e instanceof ModelConfigError && e.setting === 'nodePortAddresses' && e.value === '10.0.0.0/33',
    );
  });
});

describe('node addresses (kube-proxy GetNodeIPs / isValidForSet)', () => {
  const np = service('np', { type: 'NodePort', clusterIPs: ['10.0.0.6', 'fd00::6'], ports: [{ port: 80, nodePort: 30080 }] });
  const links = [
    link('eth0', '192.168.1.10'),
    link('eth0', '2001:db8::10'),
    link('eth0', 'fe80::200:ff:fe01:1'),
    link('veth1a2b', 'fe80::a8c1:abff:fe12:3456', 7),
    link('lo', '127.0.0.1', 1),
    link('lo', '::1', 1),
    link('eth1', '169.254.3.4', 3),
  ];
  const nodePorts = (out: ReturnType<typeof desired>) => [...out.vs.keys()].filter((k) => k.endsWith('/30080')).sort();

  it('default --nodeport-addresses: no NodePort on loopback or IPv6 link-local; IPv4 link-local stays', () => {
    const out = desired({ services: [np], links });
    assert.deepEqual(nodePorts(out), ['TCP/169.254.3.4/30080', 'TCP/192.168.1.10/30080', 'TCP/2001:db8::10/30080']);
  });

  it('a /0 is the default set of its family (kube-proxy MatchAll); a narrower CIDR takes what it names', () => {
    const all = desired({ services: [np], links, config: { nodePortAddresses: ['0.0.0.0/0', '::/0'] } });
    assert.deepEqual(nodePorts(all), ['TCP/169.254.3.4/30080', 'TCP/192.168.1.10/30080', 'TCP/2001:db8::10/30080']);
    const v6only = desired({ services: [np], links, config: { nodePortAddresses: ['::/0'] } });
    assert.deepEqual(nodePorts(v6only), ['TCP/2001:db8::10/30080']);
    const named = desired({ services: [np], links, config: { nodePortAddresses: ['fe80::/10'] } });
    assert.deepEqual(nodePorts(named), ['TCP/fe80::200:ff:fe01:1/30080', 'TCP/fe80::a8c1:abff:fe12:3456/30080']);
  });

  it('an externalIP or LB IP that is already a node address is served but not bound to kube-ipvs0', () => {
    const ext = service('ext', { clusterIPs: ['10.0.0.7'], externalIPs: ['192.168.1.10', '203.0.113.7'] });
    const lb = service('lb', { type: 'LoadBalancer', clusterIPs: ['10.0.0.8'], ports: [{ port: 443, nodePort: 31443 }], lbIngress: [{ ip: '192.168.1.10' }] });
    const out = desired({ services: [ext, lb], links });
    assert.ok(out.vs.has('TCP/192.168.1.10/80'));
    assert.ok(out.vs.has('TCP/192.168.1.10/443'));
    assert.ok(out.vs.has('TCP/203.0.113.7/80'));
    assert.deepEqual(out.addresses, ['10.0.0.7', '10.0.0.8', '203.0.113.7']);
    // A loopback externalIP is served (kube-proxy's TestExternalIPs) and, being on lo, not bound.
    const loop = desired({ services: [service('lo-ext', { clusterIPs: ['10.0.0.9'], externalIPs: ['127.0.0.1'] })], links });
    assert.ok(loop.vs.has('TCP/127.0.0.1/80'));
    assert.deepEqual(loop.addresses, ['10.0.0.9']);
    // The same address on kube-ipvs0 only (bound there by us) is a VIP like any other.
    const onDummy = desired({ services: [ext], links: [link('kube-ipvs0', '192.168.1.10', 9)] });
    assert.deepEqual(onDummy.addresses, ['10.0.0.7', '192.168.1.10', '203.0.113.7']);
  });

  it('an address appearing on or leaving an interface re-decides only the services that use it', () => {
    const ext = service('ext', { clusterIPs: ['10.0.0.7'], externalIPs: ['192.168.1.20'] });
    const other = service('other', { clusterIPs: ['10.0.0.9'], externalIPs: ['203.0.113.9'] });
    const model = new ServiceModel(config());
    model.apply([
      { kind: 'Service', type: 'upsert', object: ext },
      { kind: 'Service', type: 'upsert', object: other },
    ]);
    model.setNodeAddresses([link('eth0', '192.168.1.10')]);
    assert.ok(model.takeChanges().state.addresses.has('192.168.1.20'));
    model.setNodeAddresses([link('eth0', '192.168.1.10'), link('eth0', '192.168.1.20')]);
    const added = model.takeChanges();
    assert.deepEqual([...added.changedServices], ['default/ext']);
    assert.deepEqual([...added.changedAddresses], ['192.168.1.20']);
    assert.ok(!added.state.addresses.has('192.168.1.20'));
    assert.ok(added.state.virtualServers.has('TCP/192.168.1.20/80'));
    model.setNodeAddresses([link('eth0', '192.168.1.10'), link('veth9', 'fe80::1', 9)]);
    const removed = model.takeChanges();
    assert.deepEqual([...removed.changedServices], ['default/ext']);
    assert.ok(removed.state.addresses.has('192.168.1.20'));
  });
});
