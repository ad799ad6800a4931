import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { ConfigError } from '../../../src/config/errors.js';
import { addRunFlags, flagsFromCommander, settingsFromCommander } from '../../../src/config/flags.js';
import { loadSettings } from '../../../src/config/load.js';
import { OPTION_SPECS } from '../../../src/config/options.js';

function parsed(args: string[]): Record<string, unknown> {
  const cmd = addRunFlags(new Command('run')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

const env = { NODE_NAME: 'node-a' };
const dir = mkdtempSync(join(tmpdir(), 'ipvs-proxy-flags-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('run flags (commander)', () => {
  it('declares every setting as a flag, with help text and the default shown', () => {
    const help = addRunFlags(new Command('run')).helpInformation();
    for (const spec of OPTION_SPECS) {
      assert.ok(help.includes(spec.flag), `${spec.flag} in help`);
      if (spec.defaultText) assert.ok(help.includes(`(default: ${spec.defaultText})`), `default of ${spec.flag}`);
    }
    for (const flag of ['--config', '--once', '--cleanup', '--ipvs-scheduler', '--hostname-override', '--ipvs-tcpfin-timeout']) {
      assert.ok(help.includes(flag), flag);
    }
    assert.match(help, /kube-proxy compatible flags:/);
  });

  it('passes on only the flags that were given', () => {
    const run = flagsFromCommander(parsed(['--scheduler', 'wlc']));
    assert.deepEqual(run.flags, { scheduler: 'wlc' });
    assert.equal(run.once, false);
    assert.equal(run.cleanup, false);
    assert.equal(run.configPath, undefined);
  });

  it('turns kube-proxy aliases into the same settings as our flags', () => {
    const kubeProxyStyle = [
      '--ipvs-scheduler=sh',
      '--ipvs-sync-period=1m0s',
      '--ipvs-min-sync-period=1s',
      '--ipvs-exclude-cidrs=10.0.0.0/8,172.16.0.0/12',
      '--ipvs-strict-arp=true',
      '--ipvs-tcp-timeout=900s',
      '--ipvs-tcpfin-timeout=120s',
      '--ipvs-udp-timeout=300s',
      '--hostname-override=worker-3',
      '--iptables-masquerade-bit=15',
      '--masquerade-all',
      '--cluster-cidr=10.244.0.0/16',
      '--nodeport-addresses=primary',
      '--healthz-bind-address=0.0.0.0:10256',
      '--metrics-bind-address=127.0.0.1:10249',
    ];
    const ours = [
      '--scheduler',
      'sh',
      '--sync-period',
      '60s',
      '--min-sync-period',
      '1000ms',
      '--exclude-cidrs',
      '10.0.0.0/8',
      '--exclude-cidrs',
      '172.16.0.0/12',
      '--strict-arp',
      '--tcp-timeout',
      '15m',
      '--tcpfin-timeout',
      '2m',
      '--udp-timeout',
      '5m',
      '--node-name',
      'worker-3',
      '--masquerade-bit',
      '15',
      '--masquerade-all',
      'true',
      '--cluster-cidr',
      '10.244.0.0/16',
      '--nodeport-addresses',
      'primary',
    ];
    const a = loadSettings({ flags: flagsFromCommander(parsed(kubeProxyStyle)).flags, env }).settings;
    const b = loadSettings({ flags: flagsFromCommander(parsed(ours)).flags, env }).settings;
    assert.deepEqual(a, b);
    assert.equal(a.scheduler, 'sh');
    assert.equal(a.nodeName, 'worker-3');
    assert.deepEqual(a.excludeCidrs, ['10.0.0.0/8', '172.16.0.0/12']);
    assert.equal(a.tcpFinTimeout, 120);
  });

  it('reads boolean flags bare or with a value', () => {
    const flags = (args: string[]) => loadSettings({ flags: flagsFromCommander(parsed(args)).flags, env }).settings;
    assert.equal(flags(['--strict-arp']).strictArp, true);
    assert.equal(flags(['--strict-arp=false']).strictArp, false);
    assert.equal(flags(['--ipvs-strict-arp', '--masquerade-all']).strictArp, true);
  });

  it('an empty --kubeconfig= (as the chart passes) means in-cluster config', () => {
    const run = flagsFromCommander(parsed(['--kubeconfig=']));
    assert.deepEqual(run.flags, { kubeconfig: '' });
    const { settings } = loadSettings({
      flags: run.flags,
      configFile: { path: 'c.yaml', text: 'kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n' },
      env,
    });
    assert.equal(settings.kubeconfig, undefined);
  });

  it('refuses an alias and its flag with different values', () => {
    assert.throws(
      () => flagsFromCommander(parsed(['--scheduler', 'rr', '--ipvs-scheduler', 'wrr'])),
      (error: unknown) => error instanceof ConfigError && error.issues[0].key === '--scheduler and --ipvs-scheduler',
    );
    assert.deepEqual(flagsFromCommander(parsed(['--scheduler', 'rr', '--ipvs-scheduler', 'rr'])).flags, { scheduler: 'rr' });
  });

  it('sorts out --once, --cleanup and --config', () => {
    const run = flagsFromCommander(parsed(['--once', '--cleanup', '--config', '/etc/x.yaml']));
    assert.deepEqual(run, { configPath: '/etc/x.yaml', once: true, cleanup: true, checkConfig: false, flags: {} });
    assert.equal(flagsFromCommander(parsed(['--check-config', '--config', '/etc/x.yaml'])).checkConfig, true);
  });

  it('settingsFromCommander reads --config and lets flags win', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'scheduler: lc\nsyncPeriod: 2m\nlogFormat: text\n');
    const config = await settingsFromCommander(parsed(['--config', path, '--sync-period', '45s', '--once']), { env, isTTY: false });
    assert.equal(config.settings.scheduler, 'lc');
    assert.equal(config.settings.syncPeriodMs, 45_000);
    assert.equal(config.settings.logFormat, 'text');
    assert.equal(config.once, true);
    assert.equal(config.configPath, path);
    assert.equal(config.configFormat, 'ipvs-proxy');
  });

  it('settingsFromCommander returns the notices of a kube-proxy file', async () => {
    const path = join(dir, 'kube-proxy.conf');
    writeFileSync(path, 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nconntrack:\n  maxPerCore: 1\n');
    const config = await settingsFromCommander(parsed(['--config', path]), { env });
    assert.deepEqual(
      config.notices.map((notice) => notice.field),
      ['mode', 'conntrack.maxPerCore'],
    );
  });

  it('settingsFromCommander names a config file it cannot read', async () => {
    await assert.rejects(settingsFromCommander(parsed(['--config', join(dir, 'missing.yaml')]), { env }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.issues[0].key, '--config');
      assert.match(error.message, /missing\.yaml/);
      return true;
    });
  });
});
