// Command-line input that used to be dropped or misread silently: a source set aside by a flag,
// no source at all, values echoed whole, and a cleanup help that listed every run flag.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { ConfigError, cutForMessage } from '../../../src/config/errors.js';
import { CLEANUP_SETTINGS, addRunFlags, flagsFromCommander } from '../../../src/config/flags.js';
import { loadSettings } from '../../../src/config/load.js';
import { missingSource } from '../../../src/cli/run-command.js';

const env = { NODE_NAME: 'node-a' };
const KUBEADM_CONFIG = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
`;

describe('one source', () => {
  it('--manifests on the command line wins over clientConnection.kubeconfig from --config, with a notice', () => {
    const loaded = loadSettings({ flags: { manifests: '/etc/manifests' }, configFile: { path: 'kp.yaml', text: KUBEADM_CONFIG }, env });
    assert.equal(loaded.settings.manifests, '/etc/manifests');
    assert.equal(loaded.settings.kubeconfig, undefined);
    const notice = loaded.notices.find((n) => n.field === 'clientConnection.kubeconfig');
    assert.ok(notice, JSON.stringify(loaded.notices));
    assert.equal(notice.kind, 'warning');
    assert.equal(
      notice.message,
      '--manifests given on the command line: clientConnection.kubeconfig from the kube-proxy config is not used (flags override the config file)',
    );
  });

  it('--kubeconfig on the command line wins over manifests from our own config file', () => {
    const loaded = loadSettings({ flags: { kubeconfig: '/k.conf' }, configFile: { path: 'c.yaml', text: 'manifests: /m\n' }, env });
    assert.equal(loaded.settings.kubeconfig, '/k.conf');
    assert.equal(loaded.settings.manifests, undefined);
    assert.match(loaded.notices[0].message, /^--kubeconfig given on the command line: manifests from the config file is not used/);
  });

  it('both as flags, or both in one file, stay an error', () => {
    assert.throws(() => loadSettings({ flags: { kubeconfig: '/k', manifests: '/m' }, env }), ConfigError);
    assert.throws(() => loadSettings({ flags: {}, configFile: { path: 'c.yaml', text: 'kubeconfig: /k\nmanifests: /m\n' }, env }), ConfigError);
  });

  it('no --manifests, no --kubeconfig and no pod environment: a message naming the three ways', () => {
    const message = missingSource({}, {});
    assert.ok(message);
    assert.match(message, /--manifests/);
    assert.match(message, /--kubeconfig/);
    assert.match(message, /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    assert.equal(missingSource({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }), undefined);
    assert.equal(missingSource({ manifests: '/m' }, {}), undefined);
    assert.equal(missingSource({ kubeconfig: '/k' }, {}), undefined);
  });
});

describe('values echoed in errors', () => {
  it('a 100,000-character flag value is cut to 200 characters with its length noted', () => {
    const long = 'x'.repeat(100_000);
    let error: unknown;
    try {
      loadSettings({ flags: { syncPeriod: long, scheduler: `rr${long}` }, env });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.length < 1_500, `message of ${error.message.length} characters`);
    assert.match(error.message, /--sync-period: 'x{200}\.\.\. \(100000 characters\)' is not a duration/);
    assert.match(error.message, /--scheduler: 'rrx{198}\.\.\. \(100002 characters\)'/);
    assert.equal(cutForMessage('short'), 'short');
  });
});

describe('cleanup --help', () => {
  const help = (cmd: Command): string => cmd.helpInformation();

  it('lists only the settings cleanup reads; run lists them all', () => {
    const cleanup = help(addRunFlags(new Command('cleanup'), CLEANUP_SETTINGS));
    for (const flag of ['--config', '--state-dir', '--service-cidrs', '--exclude-cidrs', '--nodeport-range', '--ipvs-exclude-cidrs']) {
      assert.ok(cleanup.includes(flag), `${flag} listed`);
    }
    for (const flag of [
      '--scheduler',
      '--sync-period',
      '--manifests',
      '--kubeconfig',
      '--once',
      '--cleanup',
      '--status-redis',
      '--ipvs-scheduler',
      '--masquerade-all',
    ]) {
      assert.ok(!cleanup.includes(flag), `${flag} not listed`);
    }
    const run = help(addRunFlags(new Command('run')));
    for (const flag of ['--scheduler', '--sync-period', '--manifests', '--once', '--cleanup']) assert.ok(run.includes(flag));
  });

  it('still accepts the run flags a DaemonSet passes, so one argument list serves both', () => {
    const cmd = addRunFlags(new Command('cleanup'), CLEANUP_SETTINGS).exitOverride();
    cmd.parse(['--scheduler', 'wrr', '--state-dir', '/var/lib/x', '--ipvs-exclude-cidrs', '10.0.0.0/8'], { from: 'user' });
    assert.deepEqual(flagsFromCommander(cmd.opts()).flags, { scheduler: 'wrr', stateDir: '/var/lib/x', excludeCidrs: ['10.0.0.0/8'] });
  });
});

describe('run with no source', () => {
  it('exits 2 at once, before touching the kernel, naming the three ways', async () => {
    const { main } = await import('../../../src/cli/main.js');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_PORT;
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    const t0 = Date.now();
    try {
      assert.equal(await main(['node', 'ipvs-proxy', 'run', '--node-name', 'node-a', '--log-format', 'text']), 2);
    } finally {
      process.stderr.write = write;
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port !== undefined) process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
    assert.ok(Date.now() - t0 < 5_000);
    assert.match(written.join(''), /^ipvs-proxy: no source of Services: give --manifests .*--kubeconfig .*KUBERNETES_SERVICE_HOST/);
  });
});
