import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../../src/config/errors.js';
import { isEmptyValue, layerFromKubeProxyConfiguration } from '../../../src/config/kubeproxy.js';
import { loadSettings } from '../../../src/config/load.js';

const env = { NODE_NAME: 'node-a' };
const fixturePath = new URL('./fixtures/kubeadm-kube-proxy-ipvs.conf', import.meta.url);
const kubeadmText = readFileSync(fixturePath, 'utf8');
const kubeadm = (): Record<string, unknown> => parse(kubeadmText) as Record<string, unknown>;

function fromDocument(document: Record<string, unknown>, flags: Record<string, unknown> = {}) {
  return loadSettings({ flags, configFile: { path: 'config.conf', text: stringify(document) }, env });
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('KubeProxyConfiguration (kubeadm ConfigMap)', () => {
  it('parses to the same settings as the equivalent flags', () => {
    const fromFile = loadSettings({ flags: {}, configFile: { path: 'config.conf', text: kubeadmText }, env });
    const fromFlags = loadSettings({
      flags: {
        kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
        clusterCidr: ['10.244.0.0/16,fd00:10:244::/56'],
        strictArp: true,
      },
      env,
    });
    assert.equal(fromFile.configFormat, 'KubeProxyConfiguration');
    assert.deepEqual(fromFile.settings, fromFlags.settings);
    assert.equal(fromFile.settings.scheduler, 'rr', 'scheduler "" is the default');
    assert.equal(fromFile.settings.syncPeriodMs, 30_000, 'syncPeriod 0s is the default');
    assert.equal(fromFile.settings.masqueradeBit, 14, 'masqueradeBit null is the default');
    assert.equal(fromFile.settings.healthzBindAddress, '0.0.0.0:10256', 'healthzBindAddress "" is the default');
    assert.equal(fromFile.settings.metricsBindAddress, '127.0.0.1:10249');
    assert.equal(fromFile.settings.nodeName, 'node-a', 'hostnameOverride "" is the default');
  });

  it('reports only the ignored fields that hold a value, each once', () => {
    const { notices } = loadSettings({ flags: {}, configFile: { path: 'config.conf', text: kubeadmText }, env });
    assert.deepEqual(
      notices.map((notice) => [notice.field, notice.kind]),
      [['bindAddress', 'ignored']],
    );
    assert.match(notices[0].message, /^bindAddress ignored: /);
  });

  it('maps every ipvs-related field', () => {
    const document = kubeadm();
    Object.assign(document, {
      mode: 'ipvs',
      clusterCIDR: '10.244.0.0/16',
      nodePortAddresses: ['192.168.0.0/16'],
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '0.0.0.0',
      hostnameOverride: 'worker-9',
      iptables: { masqueradeAll: true, masqueradeBit: 12, syncPeriod: '0s', minSyncPeriod: '0s' },
      ipvs: {
        scheduler: 'wlc',
        syncPeriod: '1m0s',
        minSyncPeriod: '2s',
        excludeCIDRs: ['10.10.0.0/16'],
        strictARP: false,
        tcpTimeout: '15m0s',
        tcpFinTimeout: '2m0s',
        udpTimeout: '5m0s',
      },
    });
    const { settings } = fromDocument(document);
    const expected = loadSettings({
      flags: {
        kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
        clusterCidr: ['10.244.0.0/16'],
        nodeportAddresses: ['192.168.0.0/16'],
        metricsBindAddress: '0.0.0.0:10249',
        nodeName: 'worker-9',
        masqueradeAll: true,
        masqueradeBit: '12',
        scheduler: 'wlc',
        syncPeriod: '1m',
        minSyncPeriod: '2s',
        excludeCidrs: ['10.10.0.0/16'],
        tcpTimeout: '900s',
        tcpfinTimeout: '120s',
        udpTimeout: '300s',
      },
      env,
    }).settings;
    assert.deepEqual(settings, expected);
  });

  it('accepts healthzBindAddress without a port, IPv4 or IPv6', () => {
    assert.equal(fromDocument({ ...kubeadm(), healthzBindAddress: '0.0.0.0' }).settings.healthzBindAddress, '0.0.0.0:10256');
    assert.equal(fromDocument({ ...kubeadm(), healthzBindAddress: '::' }).settings.healthzBindAddress, '[::]:10256');
    assert.equal(fromDocument({ ...kubeadm(), healthzBindAddress: '[::]:12345' }).settings.healthzBindAddress, '[::]:12345');
  });

  it('lets flags override the kube-proxy file', () => {
    const { settings } = fromDocument({ ...kubeadm(), ipvs: { scheduler: 'lc', strictARP: true } }, { scheduler: 'sed' });
    assert.equal(settings.scheduler, 'sed');
    assert.equal(settings.strictArp, true);
  });

  it('warns about a mode other than ipvs and ignores it', () => {
    const { notices, settings } = fromDocument({ ...kubeadm(), mode: 'iptables' });
    const warning = notices.find((notice) => notice.field === 'mode');
    assert.equal(warning?.kind, 'warning');
    assert.match(warning?.message ?? '', /"iptables"/);
    assert.equal(settings.strictArp, true);
    assert.equal(
      fromDocument({ ...kubeadm(), mode: '' }).notices.some((notice) => notice.field === 'mode'),
      false,
    );
  });

  it('names every ignored field that is set, and every unknown field', () => {
    const document = {
      ...kubeadm(),
      conntrack: { maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: '24h0m0s', udpTimeout: '0s' },
      nftables: { masqueradeBit: 14 },
      winkernel: { enableDSR: true },
      detectLocalMode: 'InterfaceNamePrefix',
      detectLocal: { interfaceNamePrefix: 'veth' },
      iptables: { localhostNodePorts: true, syncPeriod: '30s' },
      featureGates: { SomeGate: true },
      logging: { verbosity: 4 },
      ipvs: { scheduler: 'rr', tcpTimeOut: '1s' },
      clusterCidr: '10.0.0.0/8',
      bindAddress: '',
    };
    const { notices } = fromDocument(document);
    const byKind = (kind: string) =>
      notices
        .filter((notice) => notice.kind === kind)
        .map((notice) => notice.field)
        .sort();
    assert.deepEqual(byKind('ignored'), [
      'conntrack.maxPerCore',
      'conntrack.min',
      'conntrack.tcpEstablishedTimeout',
      'detectLocal.interfaceNamePrefix',
      'detectLocalMode',
      'featureGates',
      'iptables.localhostNodePorts',
      'iptables.syncPeriod',
      'logging',
      'nftables.masqueradeBit',
      'winkernel.enableDSR',
    ]);
    assert.deepEqual(byKind('unknown'), ['clusterCidr', 'ipvs.tcpTimeOut']);
    assert.equal(new Set(notices.map((notice) => notice.field)).size, notices.length, 'each field once');
  });

  it('rejects invalid values under the kube-proxy field name', () => {
    const document = {
      ...kubeadm(),
      clusterCIDR: '10.244.0.0/16,10.300.0.0/16',
      healthzBindAddress: 'localhost:10256',
      iptables: { masqueradeBit: 40 },
      ipvs: { scheduler: 'roundrobin', syncPeriod: '30', excludeCIDRs: ['x'], strictARP: 'sometimes', tcpTimeout: '1.5s' },
    };
    const error = configErrorOf(() => fromDocument(document));
    assert.deepEqual(error.issues.map((issue) => issue.key).sort(), [
      'clusterCIDR',
      'healthzBindAddress',
      'iptables.masqueradeBit',
      'ipvs.excludeCIDRs',
      'ipvs.scheduler',
      'ipvs.strictARP',
      'ipvs.syncPeriod',
      'ipvs.tcpTimeout',
    ]);
    for (const issue of error.issues) assert.equal(issue.source, 'kube-proxy config');
    assert.match(error.message, /config\.conf: ipvs\.scheduler: 'roundrobin' is not a known IPVS scheduler; allowed: one of rr, wrr/);
  });

  it('checks the minimum sync period against the sync period with kube-proxy names', () => {
    const error = configErrorOf(() => fromDocument({ ...kubeadm(), ipvs: { syncPeriod: '10s', minSyncPeriod: '1m0s' } }));
    assert.equal(error.issues[0].key, 'ipvs.minSyncPeriod');
  });

  it('rejects another version of the API and a section that is not a mapping', () => {
    const version = configErrorOf(() => fromDocument({ ...kubeadm(), apiVersion: 'kubeproxy.config.k8s.io/v1alpha2' }));
    assert.equal(version.issues[0].key, 'apiVersion');
    const section = configErrorOf(() => fromDocument({ ...kubeadm(), ipvs: 'on' }));
    assert.equal(section.issues[0].key, 'ipvs');
  });

  it('the mapping is pure: same document, same answer', () => {
    assert.deepEqual(layerFromKubeProxyConfiguration(kubeadm()), layerFromKubeProxyConfiguration(kubeadm()));
  });

  it('knows kube-proxy zero values', () => {
    for (const value of [null, '', false, 0, '0', '0s', [], {}, { a: null, b: { c: '0s' } }]) assert.equal(isEmptyValue(value), true);
    for (const value of [true, 1, '1s', 'x', ['a'], { a: 1 }]) assert.equal(isEmptyValue(value), false);
  });
});
