// The ownership record in --state-dir: which virtual servers and kube-ipvs0 addresses this agent
// created (so it never touches anything else), and the Kubernetes names behind them for
// `status --names`. Written atomically (temp file, fsync, rename, fsync of the directory) so a
// crash leaves either the old or the new record, never a torn one.
import { open, readFile, rename, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { realKey } from '../vocabulary/ipvs-keys.js';
import type { DesiredVirtualServer } from '../model/types.js';
import type { StateStore } from './types.js';
import { messageOf } from '../util/errors.js';

const serviceRefSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  portName: z.string(),
  kind: z.enum(['ClusterIP', 'NodePort', 'ExternalIP', 'LoadBalancer']),
});

const realNamesSchema = z.object({
  pod: z.string().optional(),
  node: z.string().optional(),
});

const recordSchema = z.object({
  version: z.literal(1),
  /** By serviceKey(); owner and reals are known only for virtual servers programmed from desired state. */
  virtualServers: z.record(
    z.string(),
    z.object({
      owner: serviceRefSchema.optional(),
      /** By realKey(). */
      reals: z.record(z.string(), realNamesSchema),
    }),
  ),
  /** kube-ipvs0 addresses this agent bound. */
  addresses: z.array(z.string()),
  /**
   * When the agent wrote this record (ms since the Unix epoch): `status --names` tells a real
   * server programmed since then from one the record does not know. Older records lack it.
   */
  writtenAt: z.number().optional(),
});

export type StateRecord = z.infer<typeof recordSchema>;
export type RecordedVirtualServer = StateRecord['virtualServers'][string];

export const STATE_FILE = 'ipvs-proxy-state.json';

export function emptyRecord(): StateRecord {
  return { version: 1, virtualServers: {}, addresses: [] };
}

/**
 * A record's JSON text from its parts: each virtual server's entry already as JSON text (the
 * keeper holds them so), keys and addresses in sorted order. Joining texts is what makes a
 * record write cheap at 10,000 services: parsing every entry back into an object only for the
 * whole record to be stringified again cost seconds under emulation on every names write.
 */
export function recordText(entries: Iterable<readonly [key: string, entryJson: string]>, addresses: Iterable<string>, writtenAt?: number): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const vs = sorted.map(([k, json]) => `${JSON.stringify(k)}:${json}`).join(',');
  const at = writtenAt === undefined ? '' : `,"writtenAt":${Math.round(writtenAt)}`;
  return `{"version":1,"virtualServers":{${vs}},"addresses":${JSON.stringify([...addresses].sort())}${at}}`;
}

/** A record object's JSON text, the same bytes recordText() writes. */
export function serializeRecord(record: StateRecord): string {
  return recordText(
    Object.entries(record.virtualServers).map(([k, e]) => [k, JSON.stringify(e)] as const),
    record.addresses,
    record.writtenAt,
  );
}

/** Parse a record; throws StateRecordError on anything malformed. */
export function parseRecord(text: string, path: string): StateRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StateRecordError(path, `not JSON: ${(e as Error).message}`);
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) throw new StateRecordError(path, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

export class StateRecordError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`state record ${path} is unusable: ${reason}`);
    this.name = 'StateRecordError';
  }
}

/** What a failed write of the record means for the state dir, in words an operator acts on. */
const STATE_DIR_PROBLEMS: Record<string, string> = {
  ENOTDIR: 'not a directory',
  EEXIST: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'input/output error',
};

/** The record could not be written: `problem` says what is wrong with the state dir. */
export class StateDirError extends Error {
  readonly code: string;
  constructor(
    readonly dir: string,
    readonly problem: string,
    code: string | undefined,
  ) {
    super(`cannot write the ownership record in the state dir ${dir}: ${problem}${code ? ` (${code})` : ''}`);
    this.name = 'StateDirError';
    this.code = code ?? 'EIO';
  }
}

/** A pass's claim could not be written: the pass wrote nothing to the kernel. */
export class ClaimError extends Error {
  readonly code: string;
  constructor(
    readonly reason: string,
    code: string,
  ) {
    super(`nothing written to the kernel, the claim failed: ${reason}`);
    this.name = 'ClaimError';
    this.code = code;
  }
}

function stateDirError(dir: string, err: unknown): StateDirError {
  const code = (err as NodeJS.ErrnoException).code;
  const words = code !== undefined ? STATE_DIR_PROBLEMS[code] : undefined;
  return new StateDirError(dir, words ?? messageOf(err), code);
}

/** The record as a file in a directory. */
export class FileStateStore implements StateStore {
  readonly path: string;
  constructor(private readonly dir: string) {
    this.path = join(dir, STATE_FILE);
  }

  async load(): Promise<{ record: StateRecord | undefined; corrupt?: string }> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { record: undefined };
      return { record: undefined, corrupt: (e as Error).message };
    }
    try {
      return { record: parseRecord(text, this.path) };
    } catch (e) {
      return { record: undefined, corrupt: (e as Error).message };
    }
  }

  /** Throws StateDirError naming what is wrong with the directory. */
  async save(text: string): Promise<void> {
    try {
      await this.write(text);
    } catch (err) {
      throw stateDirError(this.dir, err);
    }
  }

  private async write(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    // The rename is durable only once the directory entry is on disk.
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}

/** Read the record for status views; undefined when there is none or it is unusable. */
export async function readStateRecord(dir: string): Promise<StateRecord | undefined> {
  return (await new FileStateStore(dir).load()).record;
}

/**
 * A desired virtual server's record entry as JSON text: its owner, and each real server by
 * realKey() with its pod and node names (none for an endpoint without targetRef or nodeName). Written directly rather than stringified from an object: used as
 * property names, the 100,000 real-server keys of a 10,000-service cluster gave V8 as many
 * object shapes to build and drop, which made the closing record write of a full pass take
 * seconds under emulation. Keys keep their first position and take their last names, as in an
 * object; the fixed key order makes an unchanged entry the same text as the one loaded.
 */
export function recordEntryText(want: DesiredVirtualServer): string {
  const reals = new Map<string, string>();
  for (const r of want.reals) {
    // Every real server is listed, with no names when its endpoint has no targetRef or nodeName:
    // `status --names` tells a real server the record knows from one it does not know yet.
    const pod = r.pod ? `"pod":${JSON.stringify(`${r.pod.namespace}/${r.pod.name}`)}` : '';
    const node = r.nodeName ? `"node":${JSON.stringify(r.nodeName)}` : '';
    reals.set(realKey(r), `{${pod}${pod && node ? ',' : ''}${node}}`);
  }
  const { namespace, name, portName, kind } = want.owner;
  const parts = [
    `{"owner":{"namespace":${JSON.stringify(namespace)},"name":${JSON.stringify(name)},"portName":${JSON.stringify(portName)},"kind":${JSON.stringify(kind)}},"reals":{`,
  ];
  for (const [key, names] of reals) parts.push(`${parts.length > 1 ? ',' : ''}${JSON.stringify(key)}:${names}`);
  parts.push('}}');
  // join() makes one flat string; `+=` would keep a tree of the pieces for as long as the entry lives.
  return parts.join('');
}
