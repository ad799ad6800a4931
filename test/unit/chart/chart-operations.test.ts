// The chart's operator-facing values: metrics Prometheus can scrape (node address, headless
// Service, ServiceMonitor valid against its CRD), extra env and volumes, the update strategy, and
// an install line in the README that names an image the reader built.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IService } from 'kubernetes-models/v1/Service';
import { CHART, K8sObject, REPO, find, helm, render, template, validateObject, validateServiceMonitor } from './helm.js';

const daemonSet = (objects: K8sObject[]): IDaemonSet => find(objects, 'DaemonSet') as unknown as IDaemonSet;
const pod = (objects: K8sObject[]) => daemonSet(objects).spec!.template;
const container = (objects: K8sObject[]) => pod(objects).spec!.containers[0];

interface ServiceMonitor extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: Array<{ port: string; path: string; interval?: string; relabelings?: Array<Record<string, unknown>> }>;
  };
}

describe('metrics Prometheus can scrape', () => {
  it('off by default: the agent keeps 127.0.0.1:10249, no Service, no ServiceMonitor', () => {
    const objects = render();
    assert.equal(
      objects.some((object) => object.kind === 'Service' || object.kind === 'ServiceMonitor'),
      false,
    );
    assert.equal(
      container(objects).args?.some((arg) => arg.startsWith('--metrics-bind-address')),
      false,
    );
    assert.equal(
      container(objects).env?.some((variable) => variable.name === 'HOST_IP'),
      false,
    );
  });

  it('metrics.enabled: the node address, a headless Service selecting every agent pod', () => {
    const objects = render(['--set', 'metrics.enabled=true', '--set', 'config.metricsBindAddress=127.0.0.1:10300']);
    for (const object of objects) validateObject(object);
    const agent = container(objects);
    assert.ok(agent.args?.includes('--metrics-bind-address=[$(HOST_IP)]:10300'), String(agent.args));
    assert.deepEqual(agent.env?.find((variable) => variable.name === 'HOST_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.hostIP' } });
    assert.deepEqual(
      agent.ports?.find((port) => port.name === 'metrics'),
      { name: 'metrics', containerPort: 10300, protocol: 'TCP' },
    );

    const service = find(objects, 'Service') as unknown as IService;
    assert.equal(service.spec?.clusterIP, 'None');
    assert.deepEqual(service.spec?.ports, [{ name: 'metrics', port: 10300, targetPort: 'metrics', protocol: 'TCP' }]);
    const podLabels = pod(objects).metadata?.labels ?? {};
    for (const [label, value] of Object.entries(service.spec?.selector ?? {}))
      assert.equal(podLabels[label], value, `the Service selects the pods by ${label}`);
  });

  it("a ServiceMonitor with the operator's labels, valid against the CRD schema, selecting the metrics Service", () => {
    const objects = render([
      '--set',
      'metrics.enabled=true',
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
      '--set',
      'metrics.serviceMonitor.interval=30s',
      '--set',
      'metrics.serviceMonitor.scrapeTimeout=10s',
      '--set',
      'metrics.serviceMonitor.metricRelabelings[0].action=drop',
      '--set',
      'metrics.serviceMonitor.metricRelabelings[0].sourceLabels[0]=__name__',
      '--set',
      'metrics.serviceMonitor.metricRelabelings[0].regex=go_.*',
    ]);
    for (const object of objects) validateObject(object);
    const monitor = find(objects, 'ServiceMonitor') as ServiceMonitor;
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack');
    const service = find(objects, 'Service');
    for (const [label, value] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[label], value, label);
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, ['kube-system']);
    const [endpoint] = monitor.spec.endpoints;
    assert.equal(endpoint.port, (service as unknown as IService).spec?.ports?.[0].name);
    assert.equal(endpoint.path, '/metrics');
    assert.equal(endpoint.interval, '30s');
    assert.deepEqual(endpoint.relabelings?.[0], { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' });
  });

  it('the CRD schema does catch a broken ServiceMonitor', () => {
    const objects = render(['--set', 'metrics.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true']);
    const monitor = find(objects, 'ServiceMonitor') as ServiceMonitor;
    validateServiceMonitor(monitor);
    const badInterval = structuredClone(monitor);
    badInterval.spec.endpoints[0].interval = '5 minutes';
    assert.throws(() => validateServiceMonitor(badInterval), /interval|pattern/);
    const unknownField = structuredClone(monitor) as ServiceMonitor & { spec: { endpoint?: unknown } };
    unknownField.spec.endpoint = { port: 'metrics' };
    assert.throws(() => validateServiceMonitor(unknownField), /additional/);
    const rendered = template([
      '--set',
      'metrics.enabled=true',
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.serviceMonitor.interval=5 minutes',
    ]);
    assert.equal(rendered.status, 0, rendered.stderr);
  });

  it('a ServiceMonitor without metrics.enabled is refused: there would be nothing to scrape', () => {
    const result = template(['--set', 'metrics.serviceMonitor.enabled=true']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /metrics\.serviceMonitor\.enabled needs metrics\.enabled/);
  });

  it('the cleanup DaemonSet gets no metrics Service', () => {
    const objects = render(['--set', 'metrics.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'cleanup.enabled=true']);
    assert.equal(
      objects.some((object) => object.kind === 'Service' || object.kind === 'ServiceMonitor'),
      false,
    );
  });
});

describe('what a DaemonSet chart is expected to offer', () => {
  it("extraEnv, extraVolumes and extraVolumeMounts land in the agent's pod", () => {
    const objects = render([
      '--set',
      'extraEnv[0].name=GODEBUG',
      '--set',
      'extraEnv[0].value=x',
      '--set',
      'extraVolumes[0].name=ca',
      '--set',
      'extraVolumes[0].configMap.name=cluster-ca',
      '--set',
      'extraVolumeMounts[0].name=ca',
      '--set',
      'extraVolumeMounts[0].mountPath=/etc/ssl/cluster',
      '--set',
      'extraVolumeMounts[0].readOnly=true',
    ]);
    for (const object of objects) validateObject(object);
    const agent = container(objects);
    assert.deepEqual(agent.env?.at(-1), { name: 'GODEBUG', value: 'x' });
    assert.deepEqual(agent.volumeMounts?.at(-1), { name: 'ca', mountPath: '/etc/ssl/cluster', readOnly: true });
    assert.deepEqual(pod(objects).spec?.volumes?.at(-1), { name: 'ca', configMap: { name: 'cluster-ca' } });
  });

  it('updateStrategy: OnDelete, a percentage of nodes at a time, and revisionHistoryLimit', () => {
    const onDelete = render(['--set', 'updateStrategy.type=OnDelete', '--set', 'revisionHistoryLimit=3']);
    for (const object of onDelete) validateObject(object);
    assert.deepEqual(daemonSet(onDelete).spec?.updateStrategy, { type: 'OnDelete' });
    assert.equal(daemonSet(onDelete).spec?.revisionHistoryLimit, 3);
    const percent = render(['--set', 'updateStrategy.rollingUpdate.maxUnavailable=10%']);
    assert.deepEqual(daemonSet(percent).spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } });
    const cleanup = render(['--set', 'updateStrategy.type=OnDelete', '--set', 'cleanup.enabled=true']);
    assert.deepEqual(daemonSet(cleanup).spec?.updateStrategy, { type: 'OnDelete' });
  });

  it('maxSurge is refused with the reason; so is a rollout that could never progress', () => {
    const surge = template(['--set', 'updateStrategy.rollingUpdate.maxSurge=1', '--set', 'updateStrategy.rollingUpdate.maxUnavailable=0']);
    assert.notEqual(surge.status, 0);
    assert.match(surge.stderr, /updateStrategy\.rollingUpdate\.maxSurge: 1 cannot be used: the agent runs in the host network/);
    const stuck = template(['--set', 'updateStrategy.rollingUpdate.maxUnavailable=0']);
    assert.match(stuck.stderr, /updateStrategy\.rollingUpdate\.maxUnavailable: cannot be 0 when maxSurge is 0/);
    const badType = template(['--set', 'updateStrategy.type=Recreate']);
    assert.match(badType.stderr, /\/updateStrategy\/type.*value must be one of 'RollingUpdate', 'OnDelete'/s);
  });
});

describe('installing as the READMEs say', () => {
  /** The `docker build -t` tag and the image `helm install` renders, from one README's install block. */
  function installLine(readme: string): { built: string; rendered: string } {
    const text = readFileSync(join(REPO, readme), 'utf8');
    const built = /docker build -t (\S+) \./.exec(text)?.[1];
    assert.ok(built, `${readme} shows how to build the image`);
    const command = /^helm install ipvs-proxy charts\/ipvs-proxy[^\n]*(?:\\\n[^\n]*)*/m.exec(text)?.[0];
    assert.ok(command, `${readme} has a helm install line`);
    const args = [...command.replace(/\\\n/g, ' ').matchAll(/--set (\S+)/g)].map((match) => ['--set', match[1].replace(/^'|'$/g, '')]).flat();
    const objects = render(args.length > 0 ? ['--set', 'image.repository=', ...args] : args);
    return { built, rendered: container(objects).image ?? '' };
  }

  for (const readme of ['README.md', 'charts/ipvs-proxy/README.md']) {
    it(`${readme}: the install line renders the image the README builds`, () => {
      const { built, rendered } = installLine(readme);
      assert.equal(rendered, built);
    });
  }

  it('NOTES.txt says kubeProxyConfig wins over config.*, and where the metrics are', () => {
    const conf = join(REPO, 'test', 'unit', 'config', 'fixtures', 'kubeadm-kube-proxy-ipvs.conf');
    const notes = (args: string[]): string => {
      const result = helm([
        'install',
        'ipvs-proxy',
        CHART,
        '--dry-run=client',
        '--namespace',
        'kube-system',
        '--set',
        'image.repository=registry.example.com/ipvs-proxy',
        ...args,
      ]);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.split('NOTES:\n')[1] ?? '';
    };
    const fromKubeProxy = notes(['--set-file', `kubeProxyConfig.config=${conf}`, '--set', 'config.scheduler=wlc']);
    assert.match(fromKubeProxy, /every config\.\* value is ignored, not merged/);
    assert.doesNotMatch(notes([]), /config\.\* value is ignored/);
    assert.match(notes(['--set', 'metrics.enabled=true']), /:10249\/metrics on every node, behind the headless Service ipvs-proxy-metrics/);
  });

  it('without image.repository the chart refuses and says how to get an image', () => {
    const result = helm(['template', 'test', CHART]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /image\.repository is required: no public image is published; build one with the repository's Dockerfile/);
  });
});
