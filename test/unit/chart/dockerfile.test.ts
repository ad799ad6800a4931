import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from './helm.js';

interface Instruction {
  stage: number;
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const result: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\S+)\s+(.*)$/.exec(trimmed);
    assert.ok(match, `unparsable line ${trimmed}`);
    const keyword = match[1].toUpperCase();
    if (keyword === 'FROM') stage++;
    result.push({ stage, keyword, args: match[2].replace(/\s+/g, ' ') });
  }
  return result;
}

function dockerignored(path: string): boolean {
  const patterns = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const first = path.split('/')[0];
  return patterns.some((pattern) => (pattern.startsWith('*.') ? path.endsWith(pattern.slice(1)) : pattern === path || pattern === first));
}

const dockerfile = instructions(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const packageJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  gypfile?: boolean;
  scripts: Record<string, string>;
};

function copies(stage: number): Array<{ from?: string; sources: string[]; destination: string }> {
  return dockerfile
    .filter((instruction) => instruction.stage === stage && instruction.keyword === 'COPY')
    .map((instruction) => {
      const words = instruction.args.split(' ');
      const from = words[0].startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
      const destination = words.pop() ?? '';
      return { from, sources: words, destination };
    });
}

describe('Dockerfile', () => {
  const froms = dockerfile.filter((instruction) => instruction.keyword === 'FROM').map((instruction) => instruction.args);

  it('builds on node:20-bookworm and runs on node:20-bookworm-slim', () => {
    assert.deepEqual(froms, ['node:20-bookworm AS build', 'node:20-bookworm-slim']);
  });

  it('installs the tools the agent drives in the runtime image', () => {
    const runs = dockerfile
      .filter((instruction) => instruction.stage === 1 && instruction.keyword === 'RUN')
      .map((instruction) => instruction.args)
      .join(' ');
    assert.match(runs, /apt-get install -y --no-install-recommends iptables ipset conntrack/);
  });

  it('copies into the build stage only files that exist in the repository and reach the build context', () => {
    const sources = copies(0).flatMap((copy) => copy.sources);
    assert.deepEqual(sources.sort(), ['binding.gyp', 'native', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
    for (const source of sources) {
      assert.ok(existsSync(join(REPO, source)), `${source} exists`);
      assert.equal(dockerignored(source), false, `${source} is not in .dockerignore`);
    }
  });

  it('copies into the runtime only build outputs, and bin/ from the repository', () => {
    const runtime = copies(1);
    const fromContext = runtime.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
    assert.deepEqual(fromContext, ['bin']);
    assert.ok(existsSync(join(REPO, 'bin', 'ipvs-proxy.js')));
    assert.equal(dockerignored('bin/ipvs-proxy.js'), false);

    const fromBuild = runtime.filter((copy) => copy.from === 'build').flatMap((copy) => copy.sources);
    assert.deepEqual(fromBuild, ['/app/package.json', '/app/node_modules', '/app/dist', '/app/build/Release/ipvs_native.node']);
    const buildRuns = dockerfile.filter((instruction) => instruction.stage === 0 && instruction.keyword === 'RUN').map((instruction) => instruction.args);
    // node_modules: npm ci, pruned to production dependencies after the build.
    assert.ok(buildRuns.includes('npm ci'));
    assert.ok(buildRuns.some((run) => run.includes('npm prune --omit=dev')));
    // dist: `npm run build` is tsc with outDir dist.
    assert.ok(buildRuns.some((run) => run.startsWith('npm run build')));
    assert.match(packageJson.scripts.build, /^tsc\b/);
    const tsconfig = JSON.parse(readFileSync(join(REPO, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
    assert.equal(tsconfig.compilerOptions.outDir, 'dist');
    assert.equal(tsconfig.compilerOptions.rootDir, 'src');
    // build/Release/ipvs_native.node: node-gyp runs on npm ci because the package has a
    // binding.gyp; the tests' build (ipvs_native_test.node) stays out of the image.
    assert.equal(packageJson.gypfile, true);
    type GypTarget = { target_name: string; sources?: string[]; defines?: string[] };
    const gyp = JSON.parse(readFileSync(join(REPO, 'binding.gyp'), 'utf8')) as { target_defaults: GypTarget; targets: GypTarget[] };
    for (const source of [gyp.target_defaults, ...gyp.targets].flatMap((t) => t.sources ?? [])) {
      assert.ok(source.startsWith('native/') && existsSync(join(REPO, source)), `${source} is under native/`);
    }
    const product = gyp.targets.find((t) => t.target_name === 'ipvs_native');
    assert.ok(product, 'binding.gyp builds the product addon ipvs_native');
    assert.ok(!(product.defines ?? []).includes('IPVS_PROXY_TEST_BUILD'), 'the product addon is built without the test hooks');
    assert.ok(!(product.sources ?? []).includes('native/faults.cc'), 'the product addon has no fault injection');
    const loader = readFileSync(join(REPO, 'src', 'native', 'binding.ts'), 'utf8');
    assert.ok(loader.includes("'ipvs_native.node'"), 'the addon loader looks for the product addon');
  });

  it('has the CLI as its entrypoint', () => {
    const entrypoint = dockerfile.filter((instruction) => instruction.keyword === 'ENTRYPOINT');
    assert.equal(entrypoint.length, 1);
    assert.deepEqual(JSON.parse(entrypoint[0].args), ['node', '/app/bin/ipvs-proxy.js']);
    assert.equal(packageJson.bin['ipvs-proxy'], 'bin/ipvs-proxy.js');
    const workdir = dockerfile.filter((instruction) => instruction.stage === 1 && instruction.keyword === 'WORKDIR');
    assert.deepEqual(
      workdir.map((instruction) => instruction.args),
      ['/app'],
    );
    const bin = readFileSync(join(REPO, 'bin', 'ipvs-proxy.js'), 'utf8');
    const imported = /from '\.\.\/dist\/(.+)\.js'/.exec(bin);
    assert.ok(imported, 'bin/ipvs-proxy.js imports the compiled CLI from dist/');
    assert.ok(existsSync(join(REPO, 'src', `${imported[1]}.ts`)), `src/${imported[1]}.ts compiles to dist/${imported[1]}.js`);
  });
});
