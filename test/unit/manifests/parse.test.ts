import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestSyntaxError, parseManifest } from '../../../src/manifests/parse.js';
import { checkShape } from '../../../src/manifests/shape.js';

test('multi-document YAML and List items keep their starting lines', () => {
  const text = [
    '---',
    'kind: Service',
    'metadata: {name: a}',
    '---',
    '# comment',
    '',
    'kind: List',
    'items:',
    '- kind: Service',
    '  metadata: {name: b}',
    '- kind: Node',
    '  metadata: {name: n}',
    '---',
    '',
  ].join('\n');
  const objs = parseManifest('f.yaml', text);
  assert.deepEqual(
    objs.map((o) => [o.line, (o.value as { metadata: { name: string } }).metadata.name]),
    [
      [2, 'a'],
      [9, 'b'],
      [11, 'n'],
    ],
  );
});

test('syntax errors name file, line and column', () => {
  assert.throws(
    () => parseManifest('f.yaml', 'kind: Service\nmetadata:\n  name: [a\n'),
    (err: unknown) =>
      err instanceof ManifestSyntaxError && err.file === 'f.yaml' && err.line !== undefined && err.line >= 3 && /^f\.yaml:\d+:\d+: /.test(err.message),
  );
  assert.throws(
    () => parseManifest('f.json', '{\n "a": 1,,\n}'),
    (err: unknown) => err instanceof ManifestSyntaxError && err.line === 2,
  );
});

test('shape checks: kinds read, kinds ignored, field named on failure, default namespace', () => {
  const ok = checkShape({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } });
  assert.ok(ok.ok === true && ok.checked.kind === 'Service' && ok.checked.object.metadata?.namespace === 'default');
  assert.deepEqual(checkShape({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }), { ok: 'ignored', kind: 'Deployment' });
  const wrongVersion = checkShape({
    apiVersion: 'discovery.k8s.io/v1beta1',
    kind: 'EndpointSlice',
    metadata: { name: 'e' },
    addressType: 'IPv4',
    endpoints: [],
  });
  assert.ok(wrongVersion.ok === false && wrongVersion.field === 'apiVersion');
  const badEndpoints = checkShape({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'e' },
    addressType: 'IPv4',
    endpoints: [{ addresses: '10.0.0.1' }],
  });
  assert.ok(badEndpoints.ok === false && badEndpoints.field === 'endpoints.0.addresses' && badEndpoints.name === 'e');
  const node = checkShape({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
  assert.ok(node.ok === true && node.checked.kind === 'Node' && node.checked.object.metadata?.namespace === undefined);
});

test('a JSON document reads the same through the fast JSON path as through the YAML parser', () => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { kind: 'Service', metadata: { name: 'a', annotations: { x: 'é "q"' } }, spec: { ports: [{ port: 80 }] } },
      { kind: 'Service', metadata: { name: 'b' } },
    ],
  };
  const text = JSON.stringify(list, null, 1);
  const fast = parseManifest('c.json', text);
  // A leading comment makes it YAML, not JSON: the YAML parser reads it.
  const slow = parseManifest('c.json', `# yaml\n${text}`);
  assert.deepEqual(
    fast.map((o) => o.value),
    list.items,
  );
  assert.deepEqual(
    slow.map((o) => o.value),
    list.items,
  );
  assert.deepEqual(
    fast.map((o) => o.line),
    [1, 1],
  );
  assert.deepEqual(
    parseManifest('one.json', '{"kind":"Service","metadata":{"name":"a"}}').map((o) => o.value),
    [{ kind: 'Service', metadata: { name: 'a' } }],
  );
});

test('shape checks name the first bad field and what was wrong with it', () => {
  const svc = (spec: unknown, meta: unknown = { name: 's' }): unknown => ({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec });
  const failure = (value: unknown): { field: string; message: string } | undefined => {
    const r = checkShape(value);
    return r.ok === false ? { field: r.field, message: r.message } : undefined;
  };
  assert.deepEqual(failure(svc({ ports: [{ port: 80 }, { port: '80' }] })), { field: 'spec.ports.1.port', message: 'expected number, received string' });
  assert.deepEqual(failure(svc({ ports: [{ port: 80.5 }] })), { field: 'spec.ports.0.port', message: 'expected an integer, received 80.5' });
  assert.deepEqual(failure(svc({}, { name: 's', labels: { app: 3 } })), { field: 'metadata.labels.app', message: 'expected string, received number' });
  assert.deepEqual(failure(svc({}, { name: '' })), { field: 'metadata.name', message: 'must not be empty' });
  assert.deepEqual(failure(svc({ externalIPs: '1.2.3.4' })), { field: 'spec.externalIPs', message: 'expected array, received string' });
  assert.deepEqual(failure({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }), { field: 'spec', message: 'expected object, received undefined' });
  assert.deepEqual(failure({ apiVersion: 'v2', kind: 'Service', metadata: { name: 's' }, spec: {} }), {
    field: 'apiVersion',
    message: 'expected "v1", received "v2"',
  });
  // A targetPort may be a number or a name; anything else is named.
  assert.equal(
    failure(
      svc({
        ports: [
          { port: 80, targetPort: 'http' },
          { port: 81, targetPort: 8081 },
        ],
      }),
    ),
    undefined,
  );
  assert.equal(failure(svc({ ports: [{ port: 80, targetPort: true }] }))?.field, 'spec.ports.0.targetPort');
  // EndpointSlice ports and conditions may be null, as the API writes them.
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'e' },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: null, serving: true } }],
    ports: [{ name: null, port: null, protocol: null }],
  };
  assert.equal(failure(slice), undefined);
  assert.equal(failure({ ...slice, ports: null }), undefined);
  assert.deepEqual(failure({ ...slice, endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }] }), {
    field: 'endpoints.0.conditions.ready',
    message: 'expected boolean, received string',
  });
  // Names of Object.prototype's members are kinds like any other unknown one.
  assert.deepEqual(checkShape({ apiVersion: 'v1', kind: 'constructor', metadata: { name: 'x' } }), { ok: 'ignored', kind: 'constructor' });
});
