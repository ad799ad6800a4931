// Reading and writing kernel parameters under /proc/sys. Which values the node needs, and whether
// to write them or only report them, is the proxier's policy (src/proxier/node-sysctls.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class SysctlError extends Error {
  constructor(
    readonly sysctl: string,
    readonly operation: 'read' | 'write',
    readonly code: string,
    detail: string,
  ) {
    super(`sysctl ${sysctl}: ${operation} failed (${code}): ${detail}`);
    this.name = 'SysctlError';
  }
}

/** What the policy needs of a sysctl tree: read one value, write one value. */
export interface SysctlAccess {
  /** The value, trimmed; rejects with SysctlError. */
  read(name: string): Promise<string>;
  /** Rejects with SysctlError. */
  write(name: string, value: string): Promise<void>;
}

export interface ProcSysctlOptions {
  /** Default /proc/sys. */
  root?: string;
}

/** Reads and writes sysctls under a root directory (tests point it at a temporary tree). */
export class ProcSysctl implements SysctlAccess {
  readonly root: string;
  /** Every write made, oldest first. */
  readonly written: { name: string; value: string }[] = [];

  constructor(opts: ProcSysctlOptions = {}) {
    this.root = opts.root ?? '/proc/sys';
  }

  pathOf(name: string): string {
    return join(this.root, ...name.split('.'));
  }

  async read(name: string): Promise<string> {
    try {
      return (await readFile(this.pathOf(name), 'utf8')).trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      const hint = code === 'ENOENT' && name.startsWith('net.ipv4.vs.') ? ' (is the ip_vs module loaded?)' : '';
      throw new SysctlError(name, 'read', code, `${(e as Error).message}${hint}`);
    }
  }

  async write(name: string, value: string): Promise<void> {
    try {
      await writeFile(this.pathOf(name), `${value}\n`);
      this.written.push({ name, value });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      const hint = code === 'EROFS' || code === 'EACCES' ? ' (/proc/sys is read-only without privileged: true; use check-only mode)' : '';
      throw new SysctlError(name, 'write', code, `${(e as Error).message}${hint}`);
    }
  }
}
