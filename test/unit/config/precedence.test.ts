import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSettings } from '../../../src/config/load.js';

const env = { NODE_NAME: 'node-a' };
const file = (text: string) => ({ path: '/etc/ipvs-proxy/config.yaml', text });

describe('precedence: defaults < config file < flags', () => {
  const configYaml = [
    'scheduler: wlc',
    'syncPeriod: 1m',
    'minSyncPeriod: 500ms',
    'excludeCidrs: [10.0.0.0/8, 192.168.0.0/16]',
    'strictArp: true',
    'masqueradeBit: 13',
    'kubeconfig: /etc/kubernetes/proxy.conf',
    'logLevel: debug',
  ].join('\n');

  it('applies the config file over the defaults', () => {
    const { settings, configFormat } = loadSettings({ flags: {}, configFile: file(configYaml), env });
    assert.equal(configFormat, 'ipvs-proxy');
    assert.equal(settings.scheduler, 'wlc');
    assert.equal(settings.syncPeriodMs, 60_000);
    assert.equal(settings.minSyncPeriodMs, 500);
    assert.deepEqual(settings.excludeCidrs, ['10.0.0.0/8', '192.168.0.0/16']);
    assert.equal(settings.strictArp, true);
    assert.equal(settings.masqueradeBit, 13);
    assert.equal(settings.kubeconfig, '/etc/kubernetes/proxy.conf');
    assert.equal(settings.logLevel, 'debug');
    assert.equal(settings.gracefulTerminationTimeoutMs, 30_000, 'keys not in the file keep their defaults');
  });

  it('lets flags override the config file, key by key', () => {
    const { settings } = loadSettings({
      flags: { scheduler: 'sh', schedulerFlags: ['sh-port'], excludeCidrs: ['172.16.0.0/12'], strictArp: 'false' },
      configFile: file(configYaml),
      env,
    });
    assert.equal(settings.scheduler, 'sh');
    assert.deepEqual(settings.schedulerFlags, ['sh-port']);
    assert.deepEqual(settings.excludeCidrs, ['172.16.0.0/12'], 'a list flag replaces the file list');
    assert.equal(settings.strictArp, false);
    assert.equal(settings.syncPeriodMs, 60_000, 'file values without a flag stay');
  });

  it('an empty --kubeconfig clears the file value (in-cluster config)', () => {
    const { settings } = loadSettings({ flags: { kubeconfig: '' }, configFile: file(configYaml), env });
    assert.equal(settings.kubeconfig, undefined);
    assert.equal('kubeconfig' in settings, false);
  });

  it('an empty YAML key counts as not set', () => {
    const { settings } = loadSettings({ flags: {}, configFile: file('scheduler:\nsyncPeriod: 10s\n'), env });
    assert.equal(settings.scheduler, 'rr');
    assert.equal(settings.syncPeriodMs, 10_000);
  });

  it('an empty file is no settings at all', () => {
    const { settings } = loadSettings({ flags: {}, configFile: file(''), env });
    assert.equal(settings.scheduler, 'rr');
  });

  it('accepts lists as YAML sequences or comma-separated text', () => {
    const fromSequence = loadSettings({ flags: {}, configFile: file('clusterCidr: [10.244.0.0/16, "fd00::/56"]'), env });
    const fromText = loadSettings({ flags: {}, configFile: file('clusterCidr: "10.244.0.0/16, fd00::/56"'), env });
    assert.deepEqual(fromSequence.settings.clusterCidr, ['10.244.0.0/16', 'fd00::/56']);
    assert.deepEqual(fromText.settings, fromSequence.settings);
  });

  it('reads every key the flags have', () => {
    const yaml = [
      'manifests: /srv/manifests',
      'nodeName: worker-1',
      'serviceProxyName: ipvs-proxy',
      'scheduler: mh',
      'schedulerFlags: mh-fallback,mh-port',
      'syncPeriod: 45s',
      'minSyncPeriod: 1s',
      'nodeportAddresses: [primary]',
      'nodeportRange: 20000-22767',
      'serviceCidrs: 10.96.0.0/12',
      'excludeCidrs: 10.0.0.0/24',
      'strictArp: true',
      'vipMode: both',
      'tcpTimeout: 15m',
      'tcpfinTimeout: 2m',
      'udpTimeout: 300s',
      'gracefulTerminationTimeout: 1m30s',
      'masqueradeAll: true',
      'clusterCidr: 10.244.0.0/16',
      'masqueradeBit: 0',
      "healthzBindAddress: '[::]:10256'",
      'metricsBindAddress: 0.0.0.0:9100',
      'stateDir: /run/ipvs-proxy',
      'sysctlMode: check',
      'logLevel: warn',
      'logFormat: text',
      'statusRedis: redis://redis.kube-system:6379/0',
      'statusRedisPasswordFile: /etc/ipvs-proxy/redis/password',
    ].join('\n');
    const { settings } = loadSettings({ flags: {}, configFile: file(yaml), env });
    assert.deepEqual(settings, {
      manifests: '/srv/manifests',
      nodeName: 'worker-1',
      serviceProxyName: 'ipvs-proxy',
      scheduler: 'mh',
      schedulerFlags: ['mh-fallback', 'mh-port'],
      syncPeriodMs: 45_000,
      minSyncPeriodMs: 1000,
      nodePortAddresses: ['primary'],
      nodePortRange: { min: 20000, max: 22767 },
      serviceCidrs: ['10.96.0.0/12'],
      excludeCidrs: ['10.0.0.0/24'],
      strictArp: true,
      vipMode: 'both',
      tcpTimeout: 900,
      tcpFinTimeout: 120,
      udpTimeout: 300,
      gracefulTerminationTimeoutMs: 90_000,
      masqueradeAll: true,
      clusterCidr: ['10.244.0.0/16'],
      masqueradeBit: 0,
      healthzBindAddress: '[::]:10256',
      metricsBindAddress: '0.0.0.0:9100',
      stateDir: '/run/ipvs-proxy',
      sysctlMode: 'check',
      logLevel: 'warn',
      logFormat: 'text',
      statusRedis: 'redis://redis.kube-system:6379/0',
      statusRedisPasswordFile: '/etc/ipvs-proxy/redis/password',
    });
  });
});
