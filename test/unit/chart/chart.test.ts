import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { loadSettings } from '../../../src/config/load.js';
import { CONFIG_KEYS } from '../../../src/config/options.js';
import { CHART, IMAGE_ARGS, K8sObject, REPO, find, helm, render, template, validateObject } from './helm.js';

const KUBEADM_CONF = join(REPO, 'test', 'unit', 'config', 'fixtures', 'kubeadm-kube-proxy-ipvs.conf');
const env = { NODE_NAME: 'node-a' };

const daemonSet = (objects: K8sObject[], name = 'test-ipvs-proxy'): IDaemonSet => find(objects, 'DaemonSet', name) as unknown as IDaemonSet;
const agent = (ds: IDaemonSet): IContainer => {
  const containers = ds.spec?.template.spec?.containers ?? [];
  assert.equal(containers.length, 1);
  return containers[0];
};
const configYaml = (objects: K8sObject[]): string => {
  const data = find(objects, 'ConfigMap').data as Record<string, string>;
  assert.deepEqual(Object.keys(data), ['config.yaml']);
  return data['config.yaml'];
};

describe('helm chart charts/ipvs-proxy (helm v4.1.4)', () => {
  it('is the helm the environment promises', () => {
    const version = helm(['version', '--short']);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^v4\.1\.4/);
  });

  it('passes helm lint, with default and non-default values', () => {
    for (const args of [[], ['--set', 'securityContext.mode=capabilities', '--set', 'cleanup.enabled=true']]) {
      const result = helm(['lint', CHART, ...IMAGE_ARGS, ...args]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders exactly the agent objects, each valid against the Kubernetes schema', () => {
    const objects = render();
    assert.deepEqual(objects.map((object) => object.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const object of objects) validateObject(object);
  });

  it('schema validation does reject a broken object', () => {
    const ds = structuredClone(find(render(), 'DaemonSet')) as K8sObject & { spec: { template: { spec: { hostNetwork: unknown } } } };
    ds.spec.template.spec.hostNetwork = 'yes';
    assert.throws(() => validateObject(ds));
  });

  it('runs the agent on every Linux node, in the host network, privileged, like kubeadm runs kube-proxy', () => {
    const objects = render();
    const ds = daemonSet(objects);
    const pod = ds.spec?.template.spec;
    assert.ok(pod);
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.deepEqual(ds.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec?.revisionHistoryLimit, 10);
    assert.equal(pod.serviceAccountName, find(objects, 'ServiceAccount').metadata.name);

    const container = agent(ds);
    assert.deepEqual(container.args, ['run', '--config', '/etc/ipvs-proxy/config.yaml']);
    assert.deepEqual(container.securityContext, { privileged: true });
    assert.deepEqual(container.env, [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, 'requests');
    assert.ok(container.resources?.limits?.memory, 'limits');

    const healthz = container.ports?.find((port) => port.name === 'healthz');
    assert.equal(healthz?.containerPort, 10256);
    assert.equal(container.livenessProbe?.httpGet?.path, '/livez');
    assert.equal(container.livenessProbe?.httpGet?.port, 'healthz');
    assert.equal(container.readinessProbe?.httpGet?.path, '/healthz');
    assert.equal(container.readinessProbe?.httpGet?.port, 'healthz');

    const volumes = new Map((pod.volumes ?? []).map((volume) => [volume.name, volume]));
    const mounts = new Map((container.volumeMounts ?? []).map((mount) => [mount.name, mount]));
    assert.equal(volumes.get('lib-modules')?.hostPath?.path, '/lib/modules');
    assert.equal(mounts.get('lib-modules')?.readOnly, true);
    assert.deepEqual(volumes.get('xtables-lock')?.hostPath, { path: '/run/xtables.lock', type: 'FileOrCreate' });
    assert.equal(mounts.get('xtables-lock')?.mountPath, '/run/xtables.lock');
    assert.equal(volumes.get('state')?.hostPath?.path, '/var/lib/ipvs-proxy');
    assert.equal(mounts.get('state')?.mountPath, '/var/lib/ipvs-proxy');
    assert.equal(volumes.get('config')?.configMap?.name, find(objects, 'ConfigMap').metadata.name);
    assert.equal(mounts.get('config')?.mountPath, '/etc/ipvs-proxy');
  });

  it('grants exactly the rights of system:node-proxier', () => {
    const objects = render();
    const role = find(objects, 'ClusterRole') as unknown as IClusterRole;
    const grants = (role.rules ?? []).flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => `${group || 'core'}/${resource}:${verb}`)),
      ),
    );
    assert.deepEqual(grants.sort(), [
      'core/events:create',
      'core/events:patch',
      'core/nodes:get',
      'core/nodes:list',
      'core/nodes:watch',
      'core/services:get',
      'core/services:list',
      'core/services:watch',
      'discovery.k8s.io/endpointslices:get',
      'discovery.k8s.io/endpointslices:list',
      'discovery.k8s.io/endpointslices:watch',
      'events.k8s.io/events:create',
      'events.k8s.io/events:patch',
    ]);
    for (const rule of role.rules ?? []) assert.equal(rule.resourceNames, undefined);
    const binding = find(objects, 'ClusterRoleBinding') as unknown as IClusterRoleBinding;
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: find(objects, 'ServiceAccount').metadata.name, namespace: 'kube-system' }]);
  });

  it('writes a config file the agent accepts, equal to the agent defaults', () => {
    const loaded = loadSettings({ flags: {}, configFile: { path: 'config.yaml', text: configYaml(render()) }, env });
    assert.equal(loaded.configFormat, 'ipvs-proxy');
    assert.deepEqual(loaded.settings, loadSettings({ flags: {}, env }).settings);
  });

  it('takes config keys named like the flags: --set config.scheduler=wlc', () => {
    const plain = render();
    const objects = render([
      '--set',
      'config.scheduler=wlc',
      '--set',
      'config.strictArp=true',
      '--set',
      'config.excludeCidrs={10.0.0.0/8,fd00::/8}',
      '--set',
      'config.clusterCidr=10.244.0.0/16',
      '--set',
      'config.healthzBindAddress=0.0.0.0:10300',
      '--set',
      'config.stateDir=/var/lib/ipvs-proxy-b',
    ]);
    const { settings } = loadSettings({ flags: {}, configFile: { path: 'config.yaml', text: configYaml(objects) }, env });
    assert.equal(settings.scheduler, 'wlc');
    assert.equal(settings.strictArp, true);
    assert.deepEqual(settings.excludeCidrs, ['10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(settings.clusterCidr, ['10.244.0.0/16']);
    const ds = daemonSet(objects);
    const container = agent(ds);
    assert.equal(container.ports?.find((port) => port.name === 'healthz')?.containerPort, 10300, 'probes follow the healthz port');
    assert.equal(ds.spec?.template.spec?.volumes?.find((volume) => volume.name === 'state')?.hostPath?.path, '/var/lib/ipvs-proxy-b');
    const checksum = (list: K8sObject[]) => daemonSet(list).spec?.template.metadata?.annotations?.['checksum/config'];
    assert.notEqual(checksum(objects), checksum(plain), 'a config change rolls the pods');
  });

  it('apiServer.host points in-cluster config at the real API server, not the kubernetes Service', () => {
    const objects = render(['--set', 'apiServer.host=192.168.122.10']);
    for (const object of objects) validateObject(object);
    const variables = agent(daemonSet(objects)).env ?? [];
    assert.deepEqual(
      variables.filter((variable) => variable.name.startsWith('KUBERNETES_SERVICE_')),
      [
        { name: 'KUBERNETES_SERVICE_HOST', value: '192.168.122.10' },
        { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
      ],
    );
  });

  it('capabilities mode: NET_ADMIN and NET_RAW, SYS_MODULE only when the agent loads modules', () => {
    for (const loadModules of [false, true]) {
      const objects = render(['--set', 'securityContext.mode=capabilities', '--set', `loadModules=${loadModules}`]);
      for (const object of objects) validateObject(object);
      const container = agent(daemonSet(objects));
      assert.deepEqual(container.args, ['run', '--config', '/etc/ipvs-proxy/config.yaml', '--sysctl-mode=check']);
      const context = container.securityContext;
      assert.equal(context?.privileged, false);
      assert.deepEqual(context?.capabilities?.drop, ['ALL']);
      assert.deepEqual(context?.capabilities?.add, loadModules ? ['NET_ADMIN', 'NET_RAW', 'SYS_MODULE'] : ['NET_ADMIN', 'NET_RAW']);
    }
  });

  it('cleanup.enabled runs `ipvs-proxy cleanup` on every node instead of the agent', () => {
    const objects = render(['--set', 'cleanup.enabled=true']);
    for (const object of objects) validateObject(object);
    const daemonSets = objects.filter((object) => object.kind === 'DaemonSet');
    assert.deepEqual(
      daemonSets.map((object) => object.metadata.name),
      ['test-ipvs-proxy-cleanup'],
    );
    const ds = daemonSet(objects, 'test-ipvs-proxy-cleanup');
    const pod = ds.spec?.template.spec;
    assert.equal(pod?.hostNetwork, true);
    assert.deepEqual(pod?.tolerations, [{ operator: 'Exists' }]);
    assert.deepEqual(pod?.nodeSelector, { 'kubernetes.io/os': 'linux' });
    const [cleanup] = pod?.initContainers ?? [];
    assert.deepEqual(cleanup.args, ['cleanup', '--config', '/etc/ipvs-proxy/config.yaml']);
    assert.deepEqual(cleanup.securityContext, { privileged: true });
    assert.ok(
      cleanup.volumeMounts?.some((mount) => mount.mountPath === '/var/lib/ipvs-proxy'),
      'reads the ownership record',
    );
    assert.equal(pod?.containers.length, 1);
    assert.deepEqual(pod?.containers[0].command, ['sleep', 'infinity']);
  });

  describe('kubeProxyConfig: an existing kube-proxy ConfigMap as-is', () => {
    const conf = readFileSync(KUBEADM_CONF, 'utf8');

    it('uses config.conf verbatim and the agent reads it as a KubeProxyConfiguration', () => {
      const objects = render(['--set-file', `kubeProxyConfig.config=${KUBEADM_CONF}`]);
      for (const object of objects) validateObject(object);
      const text = configYaml(objects);
      assert.equal(text.trim(), conf.trim());
      const loaded = loadSettings({ flags: { kubeconfig: '' }, configFile: { path: 'config.yaml', text }, env });
      assert.equal(loaded.configFormat, 'KubeProxyConfiguration');
      assert.equal(loaded.settings.strictArp, true);
      assert.equal(loaded.settings.kubeconfig, undefined);
      // Without the kubeconfig mounted, the path kube-proxy's file names is overridden by in-cluster config.
      const container = agent(daemonSet(objects));
      assert.deepEqual(container.args, ['run', '--config', '/etc/ipvs-proxy/config.yaml', '--kubeconfig=']);
      assert.equal(
        container.volumeMounts?.some((mount) => mount.name === 'kube-proxy-kubeconfig'),
        false,
      );
    });

    it("mounts the kubeconfig it names from kube-proxy's ConfigMap when asked", () => {
      const objects = render(['--set-file', `kubeProxyConfig.config=${KUBEADM_CONF}`, '--set', 'kubeProxyConfig.mountKubeconfig=true']);
      for (const object of objects) validateObject(object);
      const ds = daemonSet(objects);
      const container = agent(ds);
      assert.deepEqual(container.args, ['run', '--config', '/etc/ipvs-proxy/config.yaml']);
      const mount = container.volumeMounts?.find((candidate) => candidate.name === 'kube-proxy-kubeconfig');
      assert.deepEqual(mount, { name: 'kube-proxy-kubeconfig', mountPath: '/var/lib/kube-proxy/kubeconfig.conf', subPath: 'kubeconfig.conf', readOnly: true });
      const volume = ds.spec?.template.spec?.volumes?.find((candidate) => candidate.name === 'kube-proxy-kubeconfig');
      assert.deepEqual(volume?.configMap, { name: 'kube-proxy', items: [{ key: 'kubeconfig.conf', path: 'kubeconfig.conf' }] });
    });

    it("takes the healthz port from kube-proxy's healthzBindAddress", () => {
      const objects = render([
        '--set',
        `kubeProxyConfig.config=${conf.replace('healthzBindAddress: ""', 'healthzBindAddress: 0.0.0.0:10266').replace(/,/g, '\\,')}`,
      ]);
      assert.equal(agent(daemonSet(objects)).ports?.find((port) => port.name === 'healthz')?.containerPort, 10266);
    });

    it('refuses to mount a kubeconfig the config does not name', () => {
      const bare = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n';
      const result = template(['--set', `kubeProxyConfig.config=${bare}`, '--set', 'kubeProxyConfig.mountKubeconfig=true']);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /names no clientConnection\.kubeconfig/);
    });
  });

  describe('status Redis from a Secret', () => {
    it('creates the Secret from url and password and hands both to the agent', () => {
      const objects = render(['--set', 'statusRedis.url=redis://redis.kube-system:6379/0', '--set', 'statusRedis.password=s3cret']);
      for (const object of objects) validateObject(object);
      const secret = find(objects, 'Secret');
      const data = secret.data as Record<string, string>;
      assert.equal(Buffer.from(data.url, 'base64').toString(), 'redis://redis.kube-system:6379/0');
      assert.equal(Buffer.from(data.password, 'base64').toString(), 's3cret');
      const container = agent(daemonSet(objects));
      assert.ok(container.args?.includes('--status-redis=$(IPVS_PROXY_STATUS_REDIS)'));
      assert.ok(container.args?.includes('--status-redis-password-file=/var/run/secrets/ipvs-proxy/redis/password'));
      const variable = container.env?.find((candidate) => candidate.name === 'IPVS_PROXY_STATUS_REDIS');
      assert.deepEqual(variable?.valueFrom?.secretKeyRef, { name: secret.metadata.name, key: 'url' });
      assert.equal(JSON.stringify(objects).includes('s3cret'), false, 'the password never appears in clear');
    });

    it('uses an existing Secret, with a password only when its key is named', () => {
      const objects = render(['--set', 'statusRedis.existingSecret=fleet-redis', '--set', 'statusRedis.existingSecretUrlKey=redis-url']);
      assert.equal(
        objects.some((object) => object.kind === 'Secret'),
        false,
      );
      const container = agent(daemonSet(objects));
      const variable = container.env?.find((candidate) => candidate.name === 'IPVS_PROXY_STATUS_REDIS');
      assert.deepEqual(variable?.valueFrom?.secretKeyRef, { name: 'fleet-redis', key: 'redis-url' });
      assert.equal(
        container.args?.some((arg) => arg.startsWith('--status-redis-password-file')),
        false,
      );
      const withPassword = agent(daemonSet(render(['--set', 'statusRedis.existingSecret=fleet-redis', '--set', 'statusRedis.existingSecretPasswordKey=pw'])));
      assert.ok(withPassword.args?.includes('--status-redis-password-file=/var/run/secrets/ipvs-proxy/redis/password'));
    });
  });

  describe('values.schema.json rejects invalid values at install time', () => {
    // Keys and types in the schema, in words (no regular expressions in the messages).
    const rejected: Array<[string, string[], RegExp]> = [
      ['an unknown scheduler', ['--set', 'config.scheduler=fastest'], /\/config\/scheduler.*value must be one of 'rr'/],
      ['an unknown config key', ['--set', 'config.shceduler=rr'], /additional properties 'shceduler' not allowed/],
      ['a per-node key in a cluster-wide file', ['--set', 'config.nodeName=node-1'], /additional properties 'nodeName' not allowed/],
      ['an unknown security mode', ['--set', 'securityContext.mode=root'], /\/securityContext\/mode/],
      ['a masquerade bit out of range', ['--set', 'config.masqueradeBit=32'], /\/config\/masqueradeBit.*maximum: got 32, want 31/s],
      ['an unknown scheduler flag', ['--set', 'config.schedulerFlags={mh-prot}'], /\/config\/schedulerFlags\/0.*value must be one of 'sh-fallback'/s],
    ];
    for (const [what, args, message] of rejected) {
      it(`rejects ${what}`, () => {
        const result = template(args);
        assert.notEqual(result.status, 0, `helm accepted ${args.join(' ')}`);
        assert.match(result.stderr, /values don't meet the specifications of the schema/);
        assert.match(result.stderr, message);
        assert.doesNotMatch(result.stderr, /pattern/);
      });
    }

    it('knows the same config keys as the agent, less the per-node and secret ones', () => {
      const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
        properties: { config: { properties: Record<string, unknown> } };
      };
      const perNodeOrSecret = ['nodeName', 'statusRedis', 'statusRedisPasswordFile'];
      assert.deepEqual(Object.keys(schema.properties.config.properties).sort(), CONFIG_KEYS.filter((key) => !perNodeOrSecret.includes(key)).sort());
    });

    it('accepts valid non-default values', () => {
      const objects = render([
        '--set',
        'config.scheduler=mh',
        '--set',
        'config.schedulerFlags={mh-port}',
        '--set',
        'config.syncPeriod=1m30s',
        '--set',
        'config.nodeportAddresses={primary}',
        '--set',
        'config.serviceCidrs={10.96.0.0/12,fd00:10:96::/112}',
        '--set',
        'config.tcpTimeout=900s',
        '--set',
        'config.logFormat=text',
      ]);
      const { settings } = loadSettings({ flags: {}, configFile: { path: 'config.yaml', text: configYaml(objects) }, env });
      assert.equal(settings.scheduler, 'mh');
      assert.equal(settings.syncPeriodMs, 90_000);
      assert.equal(settings.tcpTimeout, 900);
    });
  });
});
