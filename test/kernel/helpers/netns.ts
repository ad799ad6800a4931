// Fresh network namespaces for kernel tests: every test gets its own, so the IPVS table, links
// and iptables it sees start empty and vanish with it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Netns {
  name: string;
  /** Path for setns(2), e.g. for openIpvs({ netns }). */
  path: string;
  /** Run a program inside the namespace; never throws on a non-zero exit. */
  exec(file: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Run a program inside the namespace; throws with its stderr on a non-zero exit. */
  run(file: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  destroy(): Promise<void>;
}

async function execIn(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Create a namespace with loopback up. Names are unique per call. */
export async function createNetns(prefix = 't'): Promise<Netns> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await execFileP('ip', ['netns', 'add', name]);
  await execFileP('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  const ns: Netns = {
    name,
    path: `/run/netns/${name}`,
    exec: (file, args, opts) => execIn(['ip', 'netns', 'exec', name, file, ...args], opts),
    async run(file, args, opts) {
      const r = await ns.exec(file, args, opts);
      if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} in netns ${name} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async destroy() {
      await execIn(['ip', 'netns', 'del', name]);
    },
  };
  return ns;
}

/** Run fn with a fresh namespace and always remove it afterwards. */
export async function withNetns<T>(fn: (ns: Netns) => Promise<T>, prefix?: string): Promise<T> {
  const ns = await createNetns(prefix);
  try {
    return await fn(ns);
  } finally {
    await ns.destroy();
  }
}
