// Typed errors of the netlink layer. The addon rejects with a plain Error carrying errno,
// code, op and kind; fromNative() turns it into one of these classes.

/** A netlink request failed as a whole with this errno. */
export class NetlinkError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly code: string,
    readonly op: string,
  ) {
    super(message);
    this.name = 'NetlinkError';
  }
}

/** The kernel has no IPVS (generic netlink family "IPVS" not found): load ip_vs. */
export class IpvsUnavailableError extends NetlinkError {
  readonly module = 'ip_vs';
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'IpvsUnavailableError';
  }
}

/** No reply before the deadline; the socket was dropped and the next call opens a new one. */
export class NetlinkTimeoutError extends NetlinkError {
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'NetlinkTimeoutError';
  }
}

/** The kernel flagged a dump as inconsistent (NLM_F_DUMP_INTR): retry it. */
export class DumpInterruptedError extends NetlinkError {
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'DumpInterruptedError';
  }
}

/** Replies were lost (ENOBUFS): which requests took effect is unknown; verify with a full dump. */
export class StateUnknownError extends NetlinkError {
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'StateUnknownError';
  }
}

/** A kernel reply did not parse. */
export class MalformedReplyError extends NetlinkError {
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'MalformedReplyError';
  }
}

/** The handle was closed. */
export class HandleClosedError extends NetlinkError {
  constructor(message: string, errno: number, code: string, op: string) {
    super(message, errno, code, op);
    this.name = 'HandleClosedError';
  }
}

interface NativeErrorShape {
  message: string;
  errno: number;
  code: string;
  op: string;
  kind: string;
}

function isNativeError(e: unknown): e is NativeErrorShape {
  if (!(e instanceof Error)) return false;
  const r = e as unknown as Record<string, unknown>;
  return typeof r.errno === 'number' && typeof r.code === 'string' && typeof r.op === 'string' && typeof r.kind === 'string';
}

/**
 * Errno codes after which it is unknown which writes took effect (replies lost, a wait cut short,
 * the kernel busy or interrupted mid-batch): the kernel must be read back in full.
 */
const STATE_IN_DOUBT_CODES = new Set(['ENOBUFS', 'ETIMEDOUT', 'EINTR', 'EBUSY']);

/** Whether a per-operation result with this code leaves the kernel's state in doubt. */
export function isDoubtCode(code: string): boolean {
  return STATE_IN_DOUBT_CODES.has(code);
}

/**
 * Whether a failure thrown by a kernel client leaves the kernel's state in doubt. The one
 * classifier of the project: the typed classes first, then the codes for a plain NetlinkError.
 */
export function isStateInDoubt(err: unknown): boolean {
  if (err instanceof StateUnknownError || err instanceof NetlinkTimeoutError) return true;
  return err instanceof NetlinkError && isDoubtCode(err.code);
}

/**
 * The typed error a request that failed as a whole with this errno code raises, as the addon
 * classifies it: lost replies and timeouts get their own classes. For clients and fakes that
 * fail without the addon.
 */
export function netlinkErrorFor(code: string, errno: number, op: string, message: string): NetlinkError {
  if (code === 'ENOBUFS') return new StateUnknownError(message, errno, code, op);
  if (code === 'ETIMEDOUT') return new NetlinkTimeoutError(message, errno, code, op);
  return new NetlinkError(message, errno, code, op);
}

/** Converts an addon rejection into its typed class; anything else passes through. */
export function fromNative(e: unknown): unknown {
  if (!isNativeError(e)) return e;
  const args = [e.message, e.errno, e.code, e.op] as const;
  switch (e.kind) {
    case 'unavailable':
      return new IpvsUnavailableError(...args);
    case 'timeout':
      return new NetlinkTimeoutError(...args);
    case 'dumpInterrupted':
      return new DumpInterruptedError(...args);
    case 'stateUnknown':
      return new StateUnknownError(...args);
    case 'malformed':
      return new MalformedReplyError(...args);
    case 'closed':
      return new HandleClosedError(...args);
    default:
      return new NetlinkError(...args);
  }
}

/** Awaits a native promise and rethrows its rejection as a typed error. */
export async function native<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw fromNative(e);
  }
}
