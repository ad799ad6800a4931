import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSettings, loadSettings } from '../../../src/config/load.js';
import { Settings } from '../../../src/config/settings.js';

describe('defaults', () => {
  it('gives every setting the documented default when nothing is given', () => {
    const { settings, notices, configFormat } = loadSettings({ flags: {}, env: { NODE_NAME: 'node-a' } });
    const expected: Settings = {
      nodeName: 'node-a',
      scheduler: 'rr',
      schedulerFlags: [],
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 0,
      nodePortAddresses: [],
      nodePortRange: { min: 30000, max: 32767 },
      serviceCidrs: [],
      excludeCidrs: [],
      strictArp: false,
      vipMode: 'routes',
      tcpTimeout: 0,
      tcpFinTimeout: 0,
      udpTimeout: 0,
      gracefulTerminationTimeoutMs: 30_000,
      masqueradeAll: false,
      clusterCidr: [],
      masqueradeBit: 14,
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '127.0.0.1:10249',
      stateDir: '/var/lib/ipvs-proxy',
      sysctlMode: 'write',
      logLevel: 'info',
      logFormat: 'json',
    };
    assert.deepEqual(settings, expected);
    assert.deepEqual(notices, []);
    assert.equal(configFormat, undefined);
  });

  it('takes the node name from NODE_NAME before the hostname', () => {
    const { settings } = loadSettings({ flags: {}, env: { NODE_NAME: 'from-env' }, hostname: 'from-host' });
    assert.equal(settings.nodeName, 'from-env');
  });

  it('falls back to the hostname, lower-cased and trimmed as kube-proxy does', () => {
    const { settings } = loadSettings({ flags: {}, env: {}, hostname: ' Worker-7\n' });
    assert.equal(settings.nodeName, 'worker-7');
  });

  it('prefers --node-name to NODE_NAME', () => {
    const { settings } = loadSettings({ flags: { nodeName: 'flagged' }, env: { NODE_NAME: 'from-env' } });
    assert.equal(settings.nodeName, 'flagged');
  });

  it('logs as text on a terminal and as json otherwise', () => {
    assert.equal(loadSettings({ flags: {}, env: { NODE_NAME: 'n' }, isTTY: true }).settings.logFormat, 'text');
    assert.equal(loadSettings({ flags: {}, env: { NODE_NAME: 'n' }, isTTY: false }).settings.logFormat, 'json');
  });

  it('defaultSettings leaves the optional sources unset', () => {
    const settings = defaultSettings('n');
    assert.equal(settings.kubeconfig, undefined);
    assert.equal(settings.manifests, undefined);
    assert.equal(settings.statusRedis, undefined);
  });
});
