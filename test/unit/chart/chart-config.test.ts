// The chart and the agent agree: what the chart installs, the agent accepts (checked by the agent's
// own `run --check-config` on every rendered ConfigMap, with the container's own flags), and what
// the agent would refuse, `helm template` refuses first, with the agent's words and the key's name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { generateChartFiles } from '../../../src/config/chart-schema.js';
import { ConfigError } from '../../../src/config/errors.js';
import { loadSettings } from '../../../src/config/load.js';
import { CHART, K8sObject, REPO, find, render, template } from './helm.js';

const KUBEADM_CONF = join(REPO, 'test', 'unit', 'config', 'fixtures', 'kubeadm-kube-proxy-ipvs.conf');
const CLI = join(REPO, 'bin', 'ipvs-proxy.js');
const work = mkdtempSync(join(tmpdir(), 'chart-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

const agentContainer = (objects: K8sObject[]): IContainer => {
  const ds = find(objects, 'DaemonSet') as unknown as IDaemonSet;
  return ds.spec!.template.spec!.containers[0];
};

interface CheckRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built agent (dist/, `make build`) as the pod would: the container's args with the
 * kubelet's $(VAR) expansion (a node address for status.hostIP, a URL for the Redis Secret), the
 * rendered config.yaml in place of the mounted one, and --check-config.
 */
function checkAsThePodWould(objects: K8sObject[], hostIp = '192.168.122.11'): CheckRun {
  assert.ok(existsSync(join(REPO, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npx tsc -p tsconfig.json` (make build)');
  const container = agentContainer(objects);
  const configPath = join(work, `config-${process.hrtime.bigint()}.yaml`);
  writeFileSync(configPath, (find(objects, 'ConfigMap').data as Record<string, string>)['config.yaml']);
  const stand: Record<string, string> = { HOST_IP: hostIp, IPVS_PROXY_STATUS_REDIS: 'redis://redis.kube-system:6379/0' };
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.name === 'NODE_NAME') env[variable.name] = 'node-a';
    else if (stand[variable.name] !== undefined) env[variable.name] = stand[variable.name];
    else assert.fail(`no stand-in for ${variable.name}`);
  }
  const args = (container.args ?? []).map((arg) =>
    arg === '/etc/ipvs-proxy/config.yaml' ? configPath : arg.replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => env[name] ?? `$(${name})`),
  );
  const result = spawnSync(process.execPath, [CLI, ...args, '--check-config'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the chart and the agent agree', () => {
  it('values.schema.json and _options.tpl are what `npm run gen:chart-schema` writes from the agent', () => {
    const schemaText = readFileSync(join(CHART, 'values.schema.json'), 'utf8');
    for (const file of generateChartFiles(schemaText)) {
      const committed = readFileSync(join(REPO, file.path), 'utf8');
      assert.equal(committed, file.text, `${file.path} is stale: run npm run gen:chart-schema`);
    }
    const schema = JSON.parse(schemaText) as { properties: { config: { properties: Record<string, Record<string, unknown>> } } };
    for (const [key, property] of Object.entries(schema.properties.config.properties)) {
      assert.equal(JSON.stringify(property).includes('"pattern"'), false, `${key}: errors in words, not a pattern`);
      assert.match(String(property.description), /Allowed: /, `${key} says what it allows`);
    }
  });

  describe("every rendered config passes the agent's own validation, with the pod's flags", () => {
    const matrix: Array<[string, string[]]> = [
      ['defaults', []],
      ['capabilities mode (--sysctl-mode=check)', ['--set', 'securityContext.mode=capabilities', '--set', 'loadModules=true']],
      [
        'mh with its flags, longer periods',
        [
          '--set',
          'config.scheduler=mh',
          '--set',
          'config.schedulerFlags={mh-port,mh-fallback}',
          '--set',
          'config.syncPeriod=1m30s',
          '--set',
          'config.minSyncPeriod=1s',
        ],
      ],
      [
        'sh, primary node port addresses, timeouts',
        [
          '--set',
          'config.scheduler=sh',
          '--set',
          'config.schedulerFlags=sh-fallback',
          '--set',
          'config.nodeportAddresses={primary}',
          '--set',
          'config.tcpTimeout=900s',
          '--set',
          'config.tcpfinTimeout=2m',
          '--set',
          'config.udpTimeout=5m',
          '--set',
          'config.nodeportRange=20000-22767',
        ],
      ],
      [
        'IPv6 and dual-stack addresses',
        [
          '--set',
          'config.healthzBindAddress=[::]:10256',
          '--set',
          'config.metricsBindAddress=[::1]:10249',
          '--set',
          'config.serviceCidrs={10.96.0.0/12,fd00:10:96::/112}',
          '--set',
          'config.clusterCidr={10.244.0.0/16,fd00:10:244::/56}',
          '--set',
          'config.excludeCidrs={192.168.0.0/16,2001:db8::/32}',
        ],
      ],
      [
        'masquerading, strict ARP, own state directory',
        [
          '--set',
          'config.masqueradeAll=true',
          '--set',
          'config.masqueradeBit=13',
          '--set',
          'config.strictArp=true',
          '--set',
          'config.stateDir=/var/lib/ipvs-proxy-b',
          '--set',
          'config.logLevel=debug',
          '--set',
          'config.logFormat=text',
          '--set',
          'config.gracefulTerminationTimeout=2m',
        ],
      ],
      ['metrics on the node address', ['--set', 'metrics.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true']],
      [
        'status Redis and extra flags',
        [
          '--set',
          'statusRedis.url=redis://redis.kube-system:6379/0',
          '--set',
          'statusRedis.password=pw',
          '--set',
          'extraArgs={--log-level=warn,--service-proxy-name=ipvs}',
        ],
      ],
      ["kube-proxy's kubeadm config, in-cluster config", ['--set-file', `kubeProxyConfig.config=${KUBEADM_CONF}`, '--set', 'metrics.enabled=true']],
      [
        "kube-proxy's kubeadm config with its kubeconfig mounted",
        ['--set-file', `kubeProxyConfig.config=${KUBEADM_CONF}`, '--set', 'kubeProxyConfig.mountKubeconfig=true'],
      ],
    ];
    for (const [what, args] of matrix) {
      it(what, () => {
        const run = checkAsThePodWould(render(args));
        assert.equal(run.status, 0, `the agent refused what the chart installed:\n${run.stderr}`);
        assert.match(run.stdout, /^configuration valid: /m);
      });
    }

    it('an IPv6 node address reads as one in the metrics flag', () => {
      const run = checkAsThePodWould(render(['--set', 'metrics.enabled=true']), 'fd00:122::11');
      assert.equal(run.status, 0, run.stderr);
    });
  });

  describe("what the agent refuses, helm refuses with its message and the key's name", () => {
    const defaults = (parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { config: Record<string, unknown> }).config;
    const cases: Array<[string, string[], Record<string, unknown>]> = [
      ['config.minSyncPeriod', ['--set', 'config.minSyncPeriod=1h'], { minSyncPeriod: '1h' }],
      ['config.syncPeriod', ['--set', 'config.syncPeriod=0s'], { syncPeriod: '0s' }],
      ['config.nodeportRange', ['--set', 'config.nodeportRange=30000-99999'], { nodeportRange: '30000-99999' }],
      ['config.schedulerFlags', ['--set', 'config.schedulerFlags={mh-port}'], { schedulerFlags: ['mh-port'] }],
      ['config.healthzBindAddress', ['--set', 'config.healthzBindAddress=0.0.0.0:99999'], { healthzBindAddress: '0.0.0.0:99999' }],
      ['config.tcpTimeout', ['--set', 'config.tcpTimeout=1500ms'], { tcpTimeout: '1500ms' }],
      ['config.excludeCidrs', ['--set', 'config.excludeCidrs={10.0.0.0/33}'], { excludeCidrs: ['10.0.0.0/33'] }],
      ['config.metricsBindAddress', ['--set', 'config.metricsBindAddress=localhost:10249'], { metricsBindAddress: 'localhost:10249' }],
      ['config.syncPeriod', ['--set-string', 'config.syncPeriod=30'], { syncPeriod: '30' }],
      ['statusRedis.url', ['--set', 'statusRedis.url=http://redis:6379'], { statusRedis: 'http://redis:6379' }],
    ];
    for (const [key, args, override] of cases) {
      it(`${args.at(-1)}: refused naming ${key}, as the agent refuses it`, () => {
        const result = template(args);
        assert.notEqual(result.status, 0, `helm accepted ${args.join(' ')}`);
        assert.doesNotMatch(result.stdout, /containerPort: 99999/);
        let agentError: ConfigError | undefined;
        try {
          loadSettings({ flags: {}, configFile: { path: 'config.yaml', text: stringifyYaml({ ...defaults, ...override }) }, env: { NODE_NAME: 'node-a' } });
        } catch (error) {
          agentError = error as ConfigError;
        }
        assert.ok(agentError instanceof ConfigError, 'the agent refuses it too');
        for (const issue of agentError.issues) {
          assert.ok(
            result.stderr.includes(`${key}: ${issue.problem}; allowed: ${issue.allowed}`),
            `helm's message lacks the agent's "${issue.problem}; allowed: ${issue.allowed}" for ${key}:\n${result.stderr}`,
          );
        }
      });
    }

    // The template's syntax checks are Go template code beside the agent's TypeScript: on edge
    // cases they must refuse exactly what the agent refuses, or a pod crash-loops after all.
    const agentRefuses = (config: Record<string, unknown>): boolean => {
      try {
        loadSettings({ flags: {}, configFile: { path: 'config.yaml', text: stringifyYaml(config) }, env: { NODE_NAME: 'node-a' } });
        return false;
      } catch (error) {
        if (error instanceof ConfigError) return true;
        throw error;
      }
    };
    const edgeCases: Array<[string, string[]]> = [
      ['gracefulTerminationTimeout', ['0', '0s', '1.5s', '.5s', '1.s', '1h2m3s4ms', '500us', '2µs', '30', 's', '-1s', '1d', '1m 30s', '1.2.3s']],
      ['tcpTimeout', ['0s', '900s', '15m', '1500ms', '2000ms', '1.5s', '0.5m']],
      ['syncPeriod', ['0', '0s', '0.0s', '1ns', '0.5s', '1h']],
      ['minSyncPeriod', ['30s', '30.001s', '29999ms', '30000.5ms', '0.5m', '1m']],
      [
        'healthzBindAddress',
        [
          '0.0.0.0:0',
          '0.0.0.0:65535',
          '0.0.0.0:65536',
          '[::]:10256',
          '[::1]:10256',
          '[10.0.0.1]:1',
          '::1:10256',
          '10.0.0.256:80',
          '10.0.0.1:',
          '[fe80::1%eth0]:80',
          '[1:2:3:4:5:6:7:8]:80',
          '[1:2:3:4:5:6:7:8:9]:80',
          '[::ffff:10.0.0.1]:80',
        ],
      ],
      ['nodeportRange', ['1-65535', '0-100', '100-99', ' 30000 - 32767 ', '30000-', '30000-032767']],
      ['masqueradeBit', ['0', '31', '031', '14.0', '-1']],
    ];
    for (const [key, values] of edgeCases) {
      it(`${key}: the chart and the agent refuse the same edge cases`, () => {
        const disagreements: string[] = [];
        for (const value of values) {
          const helmRefuses = template(['--set-string', `config.${key}=${value.replace(/,/g, '\\,')}`]).status !== 0;
          if (helmRefuses !== agentRefuses({ ...defaults, [key]: value })) disagreements.push(`${value}: helm ${helmRefuses ? 'refuses' : 'accepts'}`);
        }
        assert.deepEqual(disagreements, []);
      });
    }

    it('CIDRs: the chart and the agent refuse the same edge cases', () => {
      const candidates = [
        '10.0.0.0/8',
        '10.0.0.0/32',
        '10.0.0.0/33',
        '10.0.0/16',
        '256.0.0.0/8',
        '10.0.0.0',
        '10.0.0.0/',
        '10.0.0.0/08',
        'fd00::/8',
        '::/0',
        'fd00::/128',
        'fd00::/129',
        'fd00:::/64',
        '1::2::3/64',
        '1:2:3:4:5:6:7:8/64',
        '1:2:3:4:5:6:7:8:9/64',
        '::ffff:10.0.0.0/104',
        'fd00:10:96::/112',
        'gg::/8',
        '1:2:3:4:5:6:7::/64',
        '::1:2:3:4:5:6:7/64',
      ];
      const result = template(['--set', `config.excludeCidrs={${candidates.join(',')}}`]);
      const helmRefused = new Set([...result.stderr.matchAll(/config\.excludeCidrs: '([^']+)' is not a CIDR/g)].map((match) => match[1]));
      const agentRefused = candidates.filter((cidr) => agentRefuses({ ...defaults, excludeCidrs: [cidr] }));
      assert.deepEqual([...helmRefused].sort(), agentRefused.sort());
    });

    it('garbage as kubeProxyConfig.config: refused, as the agent refuses it', () => {
      const result = template(['--set', 'kubeProxyConfig.config=garbage']);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /kubeProxyConfig\.config: the document is not a mapping/);
      const configPath = join(work, 'garbage.yaml');
      writeFileSync(configPath, 'garbage\n');
      const agent = spawnSync(process.execPath, [CLI, 'run', '--config', configPath, '--check-config'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', NODE_NAME: 'node-a' },
      });
      assert.equal(agent.status, 2);
      assert.match(agent.stderr, /the document is not a mapping/);
    });

    it('a kube-proxy config the agent refuses: bad fields named by their kube-proxy path', () => {
      const conf = readFileSync(KUBEADM_CONF, 'utf8')
        .replace(/ {2}minSyncPeriod: .*\n/, '  minSyncPeriod: 1h\n')
        .replace(/ {2}scheduler: .*\n/, '  scheduler: fastest\n');
      assert.match(conf, /minSyncPeriod: 1h/);
      const configPath = join(work, 'kube-proxy-bad.conf');
      writeFileSync(configPath, conf);
      const result = template(['--set-file', `kubeProxyConfig.config=${configPath}`]);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /kubeProxyConfig\.config: ipvs\.scheduler: 'fastest' is not a known IPVS scheduler; allowed: one of rr/);
      const notKubeProxy = template(['--set', 'kubeProxyConfig.config=syncPeriod: 30s']);
      assert.match(notKubeProxy.stderr, /kubeProxyConfig\.config: not a KubeProxyConfiguration/);
    });

    it("kube-proxy fields: the chart and the agent refuse the same edits of kubeadm's file", () => {
      const conf = readFileSync(KUBEADM_CONF, 'utf8');
      const edits: Array<[RegExp, string]> = [
        [/^ {2}minSyncPeriod: .*$/gm, '  minSyncPeriod: 1m'],
        [/^ {2}syncPeriod: .*$/gm, '  syncPeriod: 10s'],
        [/^metricsBindAddress: .*$/m, 'metricsBindAddress: 0.0.0.0'],
        [/^metricsBindAddress: .*$/m, 'metricsBindAddress: "::"'],
        [/^healthzBindAddress: .*$/m, 'healthzBindAddress: "0.0.0.0:99999"'],
        [/^healthzBindAddress: .*$/m, 'healthzBindAddress: localhost'],
        [/^ {2}scheduler: .*$/m, '  scheduler: sh'],
        [/^ {2}strictARP: .*$/m, '  strictARP: maybe'],
        [/^ {2}tcpTimeout: .*$/m, '  tcpTimeout: 1500ms'],
        [/^clusterCIDR: .*$/m, 'clusterCIDR: 10.244.0.0/16'],
        [/^nodePortAddresses: .*$/m, 'nodePortAddresses: [primary]'],
        [/^clusterCIDR: .*$/m, 'clusterCIDR: 10.244.0.0/99'],
        [/^ipvs:$/m, 'ipvs: 3\nipvsOld:'],
      ];
      const disagreements: string[] = [];
      for (const [pattern, replacement] of edits) {
        const edited = conf.replace(pattern, replacement);
        assert.notEqual(edited, conf, `${pattern} edits the file`);
        const path = join(work, 'kube-proxy-edited.conf');
        writeFileSync(path, edited);
        const helmRefuses = template(['--set-file', `kubeProxyConfig.config=${path}`]).status !== 0;
        let agentRefuses = false;
        try {
          loadSettings({ flags: { kubeconfig: '' }, configFile: { path, text: edited }, env: { NODE_NAME: 'node-a' } });
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          agentRefuses = true;
        }
        if (helmRefuses !== agentRefuses) disagreements.push(`${replacement}: helm ${helmRefuses ? 'refuses' : 'accepts'}`);
      }
      assert.deepEqual(disagreements, []);
    });

    it("the agent's --check-config exits 2 with the same message for the same file", () => {
      const configPath = join(work, 'bad.yaml');
      writeFileSync(configPath, stringifyYaml({ ...defaults, minSyncPeriod: '1h' }));
      const agent = spawnSync(process.execPath, [CLI, 'run', '--config', configPath, '--check-config'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', NODE_NAME: 'node-a' },
      });
      assert.equal(agent.status, 2);
      const helm = template(['--set', 'config.minSyncPeriod=1h']);
      const problem = /minSyncPeriod: (3600000 ms is longer than the sync period \(30000 ms\); allowed: .*)$/m;
      assert.equal(problem.exec(agent.stderr)?.[1], problem.exec(helm.stderr)?.[1]);
    });
  });
});
