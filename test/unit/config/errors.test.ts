import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/errors.js';
import { loadSettings } from '../../../src/config/load.js';
import { CONFIG_KEYS, ConfigKey, optionSpec } from '../../../src/config/options.js';

const env = { NODE_NAME: 'node-a' };

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** One bad value per key, as a flag would pass it and as a YAML file would hold it. */
const BAD: Record<ConfigKey, { flag?: unknown; file: unknown }> = {
  kubeconfig: { file: ['a', 'b'] },
  manifests: { file: { path: '/x' } },
  nodeName: { file: ['node'] },
  serviceProxyName: { file: { name: 'x' } },
  scheduler: { flag: 'round-robin', file: 'RR' },
  schedulerFlags: { flag: ['sh-port,flag-1'], file: ['sh-port', 'nope'] },
  syncPeriod: { flag: '30', file: '0s' },
  minSyncPeriod: { flag: '-1s', file: 'soon' },
  nodeportAddresses: { flag: ['10.0.0.0/8,primary'], file: ['10.0.0.300/8'] },
  nodeportRange: { flag: '30000', file: '32767-30000' },
  serviceCidrs: { flag: ['10.96.0.0/12,10.96.0.0'], file: ['fd00::/129'] },
  excludeCidrs: { flag: ['10.0.0.0/33'], file: 'ten/8' },
  strictArp: { flag: 'yes', file: 'on' },
  vipMode: { flag: 'route', file: 'addrs' },
  tcpTimeout: { flag: '900', file: '1.5s' },
  tcpfinTimeout: { flag: '-1s', file: 120 },
  udpTimeout: { flag: 'forever', file: '10ms' },
  gracefulTerminationTimeout: { flag: '30', file: 'long' },
  masqueradeAll: { flag: '1', file: 'yes' },
  clusterCidr: { flag: ['10.244.0.0/16,bad'], file: ['10.244.0.0'] },
  masqueradeBit: { flag: '32', file: -1 },
  healthzBindAddress: { flag: '0.0.0.0', file: 'localhost:10256' },
  metricsBindAddress: { flag: '127.0.0.1:70000', file: '::1:10249' },
  stateDir: { flag: 'relative/dir', file: 'var/lib' },
  sysctlMode: { flag: 'skip', file: 'read' },
  logLevel: { flag: 'trace', file: 'verbose' },
  logFormat: { flag: 'xml', file: 'logfmt' },
  statusRedis: { flag: 'http://redis:6379', file: 'redis-host:6379' },
  statusRedisPasswordFile: { file: ['/a', '/b'] },
};

describe('every invalid key names itself and its allowed values', () => {
  it('has a bad value for every key', () => {
    assert.deepEqual(Object.keys(BAD).sort(), [...CONFIG_KEYS].sort());
  });

  for (const key of CONFIG_KEYS) {
    const bad = BAD[key];
    const spec = optionSpec(key);
    if (bad.flag !== undefined) {
      it(`${spec.flag} ${JSON.stringify(bad.flag)}`, () => {
        const error = configErrorOf(() => loadSettings({ flags: { [key]: bad.flag }, env }));
        assert.equal(error.issues.length, 1, error.message);
        const [issue] = error.issues;
        assert.equal(issue.key, spec.flag);
        assert.equal(issue.source, 'flag');
        assert.equal(issue.allowed, spec.allowed);
        assert.match(error.message, new RegExp(`${spec.flag}: .*; allowed: `));
      });
    }
    it(`config file ${key}: ${JSON.stringify(bad.file)}`, () => {
      const text = JSON.stringify({ [key]: bad.file });
      const error = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'cfg.yaml', text }, env }));
      assert.ok(error.issues.length >= 1);
      for (const issue of error.issues) {
        assert.equal(issue.key, key);
        assert.equal(issue.source, 'config file');
        assert.equal(issue.allowed, spec.allowed);
      }
      assert.ok(error.message.includes(`cfg.yaml: ${key}: `), error.message);
    });
  }

  it('reports every bad key of flags and file together', () => {
    const error = configErrorOf(() =>
      loadSettings({
        flags: { scheduler: 'nope', logFormat: 'xml' },
        configFile: { path: 'c.yaml', text: 'syncPeriod: often\nexcludeCidrs: [1.2.3.4/40]\n' },
        env,
      }),
    );
    assert.deepEqual(error.issues.map((issue) => issue.key).sort(), ['--log-format', '--scheduler', 'excludeCidrs', 'syncPeriod']);
    assert.match(error.message, /4 problems/);
    assert.match(
      error.message,
      /--scheduler: 'nope' is not a known IPVS scheduler; allowed: one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh, fo, ovf, twos/,
    );
  });

  it('names an unknown config file key and lists the known ones', () => {
    const error = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text: 'schedular: rr\n' }, env }));
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0].key, 'schedular');
    assert.equal(error.issues[0].problem, 'unknown key (did you mean scheduler?)');
    assert.match(error.issues[0].allowed, /scheduler/);
    const far = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text: 'colour: blue\n' }, env }));
    assert.equal(far.issues[0].problem, 'unknown key');
    const kebab = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text: 'sync-period: 1m\n' }, env }));
    assert.equal(kebab.issues[0].problem, 'unknown key (did you mean syncPeriod?)');
  });

  it('refuses a config file that is not a YAML mapping', () => {
    for (const text of ['- a\n- b\n', 'just text', 'a: [unclosed']) {
      const error = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text }, env }));
      assert.equal(error.issues[0].key, '--config');
      assert.match(error.message, /c\.yaml/);
    }
  });

  it('refuses a document of another kind', () => {
    const error = configErrorOf(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text: 'apiVersion: v1\nkind: ConfigMap\n' }, env }));
    assert.match(error.message, /unsupported document v1 ConfigMap/);
  });

  it('checks a minimum sync period against the sync period, wherever each came from', () => {
    const error = configErrorOf(() => loadSettings({ flags: { minSyncPeriod: '2m' }, configFile: { path: 'c.yaml', text: 'syncPeriod: 1m\n' }, env }));
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0].key, '--min-sync-period');
    assert.match(error.issues[0].problem, /longer than the sync period/);
  });

  it('refuses scheduler flags of another scheduler', () => {
    const error = configErrorOf(() => loadSettings({ flags: { schedulerFlags: 'sh-port' }, env }));
    assert.equal(error.issues[0].key, '--scheduler-flags');
    assert.match(error.issues[0].problem, /needs scheduler sh, not rr/);
    const ok = loadSettings({ flags: { scheduler: 'mh', schedulerFlags: 'mh-port,mh-fallback' }, env });
    assert.deepEqual(ok.settings.schedulerFlags, ['mh-port', 'mh-fallback']);
  });

  it('refuses two sources of Services at once', () => {
    const error = configErrorOf(() => loadSettings({ flags: { kubeconfig: '/k', manifests: '/m' }, env }));
    assert.equal(error.issues[0].key, '--manifests');
  });
});
