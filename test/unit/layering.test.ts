// The layers of src/, read from the import statements: sources -> pure model -> proxier -> kernel
// clients, all speaking the shared vocabulary. A kernel client knows neither Kubernetes nor the
// proxier; the model knows neither the kernel nor the sources. Adding a folder to src/ means
// placing it here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const KERNEL_CLIENTS = ['ipvs', 'netif', 'iptables', 'native', 'sysctl'];
const SHARED = ['vocabulary', 'util'];

/** For each folder of src/, the folders its files may import (its own is always allowed). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  util: [],
  vocabulary: ['util'],
  config: ['util'],
  model: SHARED,
  // Sources turn API objects or files into the vocabulary's events; the manifests source reuses
  // the Kubernetes source's projections, and both read the model's annotation names.
  k8s: [...SHARED, 'model'],
  manifests: [...SHARED, 'model', 'k8s'],
  // Kernel clients talk to the kernel or its tools; the IPVS client's open options are shared.
  ipvs: [...SHARED, 'native'],
  netif: [...SHARED, 'native', 'ipvs'],
  iptables: [...SHARED, 'native', 'ipvs'],
  native: SHARED,
  sysctl: SHARED,
  proxier: [...SHARED, 'model', 'config', ...KERNEL_CLIENTS],
  status: [...SHARED, 'model', 'ipvs'],
  ops: [...SHARED, 'model', 'config'],
  fleet: [...SHARED, 'model'],
  agent: [...SHARED, 'model', 'config', 'k8s', 'manifests', 'proxier', 'ops', 'fleet', ...KERNEL_CLIENTS],
  cli: [...SHARED, 'model', 'config', 'proxier', 'ops', 'fleet', 'status', 'agent', ...KERNEL_CLIENTS],
};

/** Packages a folder may not import: a kernel client or the model's vocabulary never knows Kubernetes' client. */
const MAY_NOT_IMPORT_PACKAGES: Record<string, readonly string[]> = Object.fromEntries(KERNEL_CLIENTS.map((f) => [f, ['@kubernetes/client-node']]));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier of a file: static imports and re-exports, side-effect imports, import() types. */
function specifiersOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*'([^']+)'/g, /^\s*import\s*'([^']+)'/gm, /\bimport\(\s*'([^']+)'\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

function folderOf(path: string): string {
  return relative(SRC, path).split(sep)[0];
}

interface Edge {
  file: string;
  target: string;
  folder: string;
  targetFolder: string;
}

function edges(): { edges: Edge[]; packages: { file: string; folder: string; pkg: string }[] } {
  const out: Edge[] = [];
  const packages: { file: string; folder: string; pkg: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const folder = folderOf(file);
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        packages.push({ file: relative(SRC, file), folder, pkg: spec });
        continue;
      }
      const target = resolve(dirname(file), spec);
      out.push({ file: relative(SRC, file), target: relative(SRC, target), folder, targetFolder: folderOf(target) });
    }
  }
  return { edges: out, packages };
}

test('the import reader finds static, type-only, multi-line and dynamic imports', () => {
  const text = [
    "import { a } from './a.js';",
    "import type {\n  B,\n  C,\n} from '../model/types.js';",
    "export { d } from '../vocabulary/ipvs.js';",
    "import './side-effect.js';",
    "type E = import('../k8s/events.js').EventSink;",
  ].join('\n');
  assert.deepEqual(specifiersOf(text).sort(), ['../k8s/events.js', '../model/types.js', '../vocabulary/ipvs.js', './a.js', './side-effect.js']);
});

test('every folder of src/ has a place in the layering', () => {
  const folders = readdirSync(SRC)
    .filter((n) => statSync(join(SRC, n)).isDirectory())
    .sort();
  assert.deepEqual(folders, Object.keys(MAY_IMPORT).sort());
});

test('each layer imports only the layers below it', () => {
  const { edges: all } = edges();
  // The scan reads real imports: the proxier uses the model, the IPVS client the vocabulary.
  assert.ok(all.some((e) => e.folder === 'proxier' && e.targetFolder === 'model'));
  assert.ok(all.some((e) => e.folder === 'ipvs' && e.targetFolder === 'vocabulary'));
  const wrong = all
    .filter((e) => e.targetFolder !== e.folder && !(MAY_IMPORT[e.folder] ?? []).includes(e.targetFolder))
    .map((e) => `src/${e.file} imports src/${e.target}: ${e.folder} may import only ${(MAY_IMPORT[e.folder] ?? []).join(', ') || 'nothing of src/'}`);
  assert.deepEqual(wrong, []);
});

test('no kernel client imports the Kubernetes client library; the model imports no kernel client or source', () => {
  const { edges: all, packages } = edges();
  const wrongPackages = packages
    .filter((p) => (MAY_NOT_IMPORT_PACKAGES[p.folder] ?? []).some((pkg) => p.pkg === pkg || p.pkg.startsWith(`${pkg}/`)))
    .map((p) => `src/${p.file} imports ${p.pkg}`);
  assert.deepEqual(wrongPackages, []);
  const modelWrong = all
    .filter((e) => e.folder === 'model' && [...KERNEL_CLIENTS, 'k8s', 'manifests', 'proxier'].includes(e.targetFolder))
    .map((e) => `src/${e.file} imports src/${e.target}`);
  assert.deepEqual(modelWrong, []);
  const clientsWrong = all
    .filter((e) => KERNEL_CLIENTS.includes(e.folder) && ['k8s', 'manifests', 'model', 'proxier'].includes(e.targetFolder))
    .map((e) => `src/${e.file} imports src/${e.target}`);
  assert.deepEqual(clientsWrong, []);
});
