// Flushes conntrack entries of a deleted UDP/SCTP real server with the `conntrack` tool
// (Debian package conntrack), so datagrams stop following a dead backend (kubernetes#71514).
import { execFile } from 'node:child_process';
import type { Protocol } from '../vocabulary/ipvs.js';
import type { ConntrackFlusher } from './types.js';

export class ConntrackError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | string | null,
    readonly stderr: string,
  ) {
    super(`conntrack ${args.join(' ')} failed (${exitCode}): ${stderr.trim()}`);
    this.name = 'ConntrackError';
  }
}

/** Arguments of `conntrack -D` for every entry whose reply comes from address:port. */
export function conntrackDeleteArgs(t: { protocol: Protocol; address: string; port: number }): string[] {
  const family = t.address.includes(':') ? 'ipv6' : 'ipv4';
  return ['-D', '-f', family, '-p', t.protocol.toLowerCase(), '--reply-src', t.address, '--reply-port-src', String(t.port)];
}

/** conntrack exits 1 with "0 flow entries have been deleted" when nothing matched: not an error. */
export function nothingMatched(stderr: string): boolean {
  return /\b0 flow entries have been deleted/.test(stderr);
}

export class ConntrackTool implements ConntrackFlusher {
  /**
   * `command` is the program and any leading arguments, e.g. ['conntrack'] or, to act in another
   * network namespace, ['ip', 'netns', 'exec', 'NAME', 'conntrack'].
   */
  constructor(
    private readonly command: readonly string[] = ['conntrack'],
    private readonly timeoutMs = 5000,
  ) {
    if (command.length === 0) throw new TypeError('ConntrackTool needs a command');
  }

  flush(target: { protocol: Protocol; address: string; port: number }): Promise<number> {
    const args = [...this.command.slice(1), ...conntrackDeleteArgs(target)];
    return new Promise((resolve, reject) => {
      execFile(this.command[0], args, { timeout: this.timeoutMs }, (err, _stdout, stderr) => {
        if (!err || nothingMatched(stderr)) resolve(1);
        else reject(new ConntrackError(args, err.code ?? err.signal ?? null, stderr || err.message));
      });
    });
  }
}

/** A flusher that records what it was asked to flush (tests, and nodes without conntrack). */
export class RecordingConntrack implements ConntrackFlusher {
  readonly flushed: { protocol: Protocol; address: string; port: number }[] = [];
  async flush(target: { protocol: Protocol; address: string; port: number }): Promise<number> {
    this.flushed.push({ ...target });
    return 1;
  }
}
