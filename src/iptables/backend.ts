// Which iptables the node uses, nft or legacy, decided the way the iptables-wrapper in
// kube-proxy's image decides: a kubelet hint chain first, then whichever has more rules, nft when
// in doubt. Mixing the two on one node breaks traffic, so we follow what is already there.
import type { Family } from '../vocabulary/ipvs.js';
import { CommandFailedError, CommandNotFoundError } from './errors.js';
import type { CommandRunner } from './runner.js';
import { countSavedRules } from './save.js';

export type Backend = 'nft' | 'legacy';

export interface BackendCommands {
  save: string;
  restore: string;
  /** The plain binary, for --version. */
  binary: string;
}

export function commandsFor(backend: Backend, family: Family): BackendCommands {
  const base = family === 'inet' ? 'iptables' : 'ip6tables';
  return { save: `${base}-${backend}-save`, restore: `${base}-${backend}-restore`, binary: `${base}-${backend}` };
}

/** Saved rules of both families under one backend, as text; '' when its tools are missing or fail. */
export interface BackendSaves {
  nft: string;
  legacy: string;
}

// The kubelet creates these in the mangle table of the backend it uses.
const HINT = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m;

/** Pure choice from the save outputs of both backends. */
export function chooseBackend(saves: BackendSaves): Backend {
  if (HINT.test(saves.nft)) return 'nft';
  if (HINT.test(saves.legacy)) return 'legacy';
  return countSavedRules(saves.legacy) > countSavedRules(saves.nft) ? 'legacy' : 'nft';
}

/** The output of a save tool that ran and succeeded; undefined when it is missing or failed. */
async function saveOne(runner: CommandRunner, backend: Backend, family: Family): Promise<string | undefined> {
  try {
    const r = await runner.run(commandsFor(backend, family).save, []);
    return r.code === 0 ? r.stdout : undefined;
  } catch (err) {
    // A missing backend simply has no rules; anything else is a real failure.
    if (!(err instanceof CommandNotFoundError)) throw err;
    return undefined;
  }
}

/** A detection: the backend chosen, and the save output of its families that it read on the way. */
export interface Detection {
  backend: Backend;
  /** Output of the chosen backend's save tool per family, where it ran and succeeded. */
  saves: Map<Family, string>;
}

/** Run both backends' save tools (side by side: they only read) and choose. */
export async function detectBackendWithSaves(runner: CommandRunner): Promise<Detection> {
  const [legacy4, legacy6, nft4, nft6] = await Promise.all([
    saveOne(runner, 'legacy', 'inet'),
    saveOne(runner, 'legacy', 'inet6'),
    saveOne(runner, 'nft', 'inet'),
    saveOne(runner, 'nft', 'inet6'),
  ]);
  const backend = chooseBackend({ nft: (nft4 ?? '') + (nft6 ?? ''), legacy: (legacy4 ?? '') + (legacy6 ?? '') });
  const [inet, inet6] = backend === 'nft' ? [nft4, nft6] : [legacy4, legacy6];
  const saves = new Map<Family, string>();
  if (inet !== undefined) saves.set('inet', inet);
  if (inet6 !== undefined) saves.set('inet6', inet6);
  return { backend, saves };
}

export async function detectBackend(runner: CommandRunner): Promise<Backend> {
  return (await detectBackendWithSaves(runner)).backend;
}

/** MASQUERADE --random-fully needs iptables 1.6.2 or newer. Pure, from `iptables --version`. */
export function supportsRandomFully(versionOutput: string): boolean {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(versionOutput);
  if (m === null) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major > 1 || (major === 1 && (minor > 6 || (minor === 6 && patch >= 2)));
}

export async function detectRandomFully(runner: CommandRunner, backend: Backend): Promise<boolean> {
  const bin = commandsFor(backend, 'inet').binary;
  const r = await runner.run(bin, ['--version']);
  if (r.code !== 0) throw new CommandFailedError(bin, ['--version'], r.code, r.stderr);
  return supportsRandomFully(r.stdout);
}
