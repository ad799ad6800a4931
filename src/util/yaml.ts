// The YAML parser, loaded on first use: a cluster's objects arrive as JSON (from the API server,
// or from manifests written by `kubectl get -o json`), and loading the parser costs a start that
// never needs it tens of milliseconds natively and about a second under emulation.
import { createRequire } from 'node:module';

type YamlModule = typeof import('yaml');

let loaded: YamlModule | undefined;

export function yaml(): YamlModule {
  loaded ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return loaded;
}
