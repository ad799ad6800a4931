// The agent's version, from package.json (two levels up from both src/cli and dist/cli).
import { readFileSync } from 'node:fs';

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export const AGENT_VERSION = readVersion();
