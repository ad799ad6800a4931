// What a command loads decides how fast it starts: `ipvs-proxy status`, `--version` and `--help`
// must not load the Kubernetes client (hundreds of generated modules), the logger, the metrics
// library, the Redis client, the schema library or the YAML parser, which only `run` and some
// status options use. Runs the built CLI (dist/, `make build`) in a child process under a module
// resolve hook that records every module the command resolves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = new URL('../../../', import.meta.url).pathname;

/** Packages a plain table view, --version or --help has no use for. */
const RUN_ONLY = ['@kubernetes/client-node', 'winston', 'prom-client', 'ioredis', 'zod', 'yaml'];

/** Our modules that declaring the commands takes; no command's own module. */
const PARSER_ONLY = ['cli/main.js', 'cli/version.js', 'config/defaults.js', 'config/flags.js', 'config/options.js', 'config/errors.js'];

interface Loaded {
  code: number;
  stdout: string;
  stderr: string;
  modules: string[];
}

/** Runs `node bin/ipvs-proxy.js ARGS` and returns the URLs of every module it resolved. */
function loadedBy(args: string[]): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'startup-modules-'));
  const log = join(dir, 'resolved.txt');
  writeFileSync(log, '');
  // The hook runs on the loader's thread: it appends each resolved URL to the log synchronously,
  // so the list is complete however the command exits.
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', pathToFileURL(register).href, join(repo, 'bin/ipvs-proxy.js'), ...args],
      { cwd: dir, timeout: 60_000 },
      (err, stdout, stderr) => {
        const modules = readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l !== '');
        rmSync(dir, { recursive: true, force: true });
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, modules });
      },
    );
  });
}

function packagesIn(modules: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const url of modules) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) names.add(m[1]);
  }
  return names;
}

function assertBuilt(): void {
  assert.ok(existsSync(join(repo, 'dist/cli/main.js')), 'dist/ is missing: run `npx tsc -p tsconfig.json` (make build)');
}

test('status loads neither the Kubernetes client nor any other run-only package', async () => {
  assertBuilt();
  const stateDir = mkdtempSync(join(tmpdir(), 'startup-state-'));
  try {
    const r = await loadedBy(['status', '--state-dir', stateDir]);
    // Without IPVS (this host) the command ends at the kernel with the module's name; with IPVS it
    // prints the table. Either way it went through the whole command's imports.
    if (r.code !== 0) assert.match(r.stderr, /ip_vs/, r.stderr);
    else assert.match(r.stdout, /^IP Virtual Server version /, r.stdout);
    assert.ok(
      r.modules.some((u) => u.endsWith('/dist/cli/status-command.js')),
      'the status command module was loaded',
    );
    assert.ok(
      r.modules.some((u) => u.endsWith('/dist/ipvs/client.js')),
      'the IPVS client was loaded',
    );
    const loaded = packagesIn(r.modules);
    for (const name of RUN_ONLY) assert.ok(!loaded.has(name), `status loaded ${name}: ${[...loaded].join(', ')}`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

for (const args of [['--version'], ['--help'], ['run', '--help'], ['status', '--help']]) {
  test(`${args.join(' ')} loads only the command line parser`, async () => {
    assertBuilt();
    const r = await loadedBy(args);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout, '', 'it printed something');
    assert.deepEqual([...packagesIn(r.modules)], ['commander']);
    const ours = r.modules.filter((u) => u.includes('/dist/')).map((u) => u.slice(u.indexOf('/dist/') + 6));
    assert.deepEqual(
      ours.filter((m) => !PARSER_ONLY.includes(m)),
      [],
      'only the command line declarations',
    );
  });
}
