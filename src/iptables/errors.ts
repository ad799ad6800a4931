// Typed errors of the iptables and ipset tools' client. Each carries what a caller needs to report
// or retry; the library never logs.

/** A program could not be started because it is not installed (spawn ENOENT). */
export class CommandNotFoundError extends Error {
  override readonly name = 'CommandNotFoundError';
  constructor(readonly command: string) {
    super(`${command}: command not found (is the package that provides it installed?)`);
  }
}

/** A program ran longer than its deadline and was killed. */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** iptables-restore, iptables-save, ipset or another tool exited with a non-zero status. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${[command, ...args].join(' ')} exited with status ${code}: ${stderr.trim() || '(no output)'}`);
  }
}

/** Output of iptables-save or ipset save that this code cannot read. */
export class SaveOutputParseError extends Error {
  override readonly name = 'SaveOutputParseError';
  constructor(
    readonly command: string,
    readonly lineNumber: number,
    readonly line: string,
  ) {
    super(`cannot parse line ${lineNumber} of ${command} output: ${line}`);
  }
}
