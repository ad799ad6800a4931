import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestSyntaxError, parseManifest } from '../../../src/manifests/parse.js';
import { checkShape } from '../../../src/manifests/shape.js';

test('multi-document YAML and List items keep their starting lines', () => {
  const text = ['---', 'kind: Service', 'metadata: {name: a}', '---', '# comment', '', 'kind: List', 'items:', '- kind: Service', '  metadata: {name: b}', '- kind: Node', '  metadata: {name: n}', '---', ''].join('\n');
  const objs = parseManifest('f.yaml', text);
  assert.deepEqual(objs.map((o) => [o.line, (o.value as { metadata: { name: string } }).metadata.name]), [[2, 'a'], [9, 'b'], [11, 'n']]);
});

test('syntax errors name file, line and column', () => {
  assert.throws(() => parseManifest('f.yaml', 'kind: Service\nmetadata:\n  name: [a\n'), (err: unknown) =>
    err instanceof ManifestSyntaxError && err.file === 'f.yaml' && err.line !== undefined && err.line >= 3 && /^f\.yaml:\d+:\d+: /.test(err.message));
  assert.throws(() => parseManifest('f.json', '{\n "a": 1,,\n}'), (err: unknown) => err instanceof ManifestSyntaxError && err.line === 2);
});

test('shape checks: kinds read, kinds ignored, field named on failure, default namespace', () => {
  const ok = checkShape({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } });
  assert.ok(ok.ok === true && ok.checked.kind === 'Service' && ok.checked.object.metadata?.namespace === 'default');
  assert.deepEqual(checkShape({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }), { ok: 'ignored', kind: 'Deployment' });
  const wrongVersion = checkShape({ apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [] });
  assert.ok(wrongVersion.ok === false && wrongVersion.field === 'apiVersion');
  const badEndpoints = checkShape({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: '10.0.0.1' }] });
  assert.ok(badEndpoints.ok === false && badEndpoints.field === 'endpoints.0.addresses' && badEndpoints.name === 'e');
  const node = checkShape({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
  assert.ok(node.ok === true && node.checked.kind === 'Node' && node.checked.object.metadata?.namespace === undefined);
});

test('a JSON document reads the same through the fast JSON path as through the YAML parser', () => {
  const list = { apiVersion: 'v1', kind: 'List', items: [{ kind: 'Service', metadata: { name: 'a', annotations: { x: 'é "q"' } }, spec: { ports: [{ port: 80 }] } }, { kind: 'Service', metadata: { name: 'b' } }] };
  const text = JSON.stringify(list, null, 1);
  const fast = parseManifest('c.json', text);
  // A leading comment makes it YAML, not JSON: the YAML parser reads it.
  const slow = parseManifest('c.json', `# yaml\n${text}`);
  assert.deepEqual(fast.map((o) => o.value), list.items);
  assert.deepEqual(slow.map((o) => o.value), list.items);
  assert.deepEqual(fast.map((o) => o.line), [1, 1]);
  assert.deepEqual(parseManifest('one.json', '{"kind":"Service","metadata":{"name":"a"}}').map((o) => o.value), [{ kind: 'Service', metadata: { name: 'a' } }]);
});
