// ServiceSource over manifest files (--manifests PATH): a file, or a directory of *.yaml, *.yml
// and *.json files, re-read when they change (fs.watch, debounced, plus a stat poll because
// fs.watch misses changes on some filesystems and ConfigMap volume swaps). Each reload is diffed
// against what was last emitted. A file that fails to parse keeps its last good objects; a file
// (or the whole path) that vanishes keeps them until it is still gone when read again after
// vanishedConfirmMs, like the API-server path's confirmation of an empty relist: a directory
// emptied by accident must not delete every Service of the node at once.
import { statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { SourceStoppedError, SyncTimeoutError } from '../k8s/errors.js';
import { proxyLabelsMatch } from '../k8s/selectors.js';
import type { ServiceSource, SourceEvent, SourceHandlers } from '../vocabulary/source.js';
import { mirrorEndpoints } from './endpoints-mirror.js';
import { ManifestSyntaxError, parseManifest } from './parse.js';
import { isOtherKubernetesKind, suggestKind } from './kinds.js';
import { checkShape } from './shape.js';
import { messageOf } from '../util/errors.js';
import { SyncWaiters } from '../util/sync-waiters.js';

export interface ManifestSourceOptions {
  /** A manifest file, or a directory of them (not recursive; dotfiles skipped). */
  path: string;
  serviceProxyName?: string;
  /** When set, only the Node of this name is passed on. */
  nodeName?: string;
  /** Quiet time after a file-system event before reloading (default 100 ms). */
  debounceMs?: number;
  /** Stat poll interval, the fallback for missed fs.watch events (default 2 s). */
  pollIntervalMs?: number;
  /** Files larger than this are refused (default 64 MiB). */
  maxFileBytes?: number;
  /** How long a vanished file's objects are kept before a read that still misses it deletes them (default 30 s). */
  vanishedConfirmMs?: number;
}

type Entry =
  | { kind: 'Service'; key: string; object: V1Service }
  | { kind: 'EndpointSlice'; key: string; object: V1EndpointSlice }
  | { kind: 'Node'; key: string; object: V1Node };

interface FileState {
  signature: string;
  /** Signature of a version that failed to load, so it is reported once, not on every poll. */
  failedSignature?: string;
  entries: Entry[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function entryKey(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace ?? ''}/${name ?? ''}`;
}

export class ManifestSource implements ServiceSource {
  private handlers?: SourceHandlers;
  private readonly files = new Map<string, FileState>();
  /**
   * Bumped whenever a file's entries may have changed. A poll that finds every file as it was
   * skips the difference pass: re-serializing every object of a 10,000-service manifest each
   * poll would take the agent's main thread away from its syncs.
   */
  private filesVersion = 0;
  private emittedVersion = -1;
  /**
   * What was last passed on. An entry of a file that was not parsed again is the same object and
   * so unchanged; one parsed again is compared by its JSON with the one passed on. No digest is
   * kept: hashing every object's JSON on every reload cost more than the comparisons it saved.
   */
  private readonly emitted = new Map<string, { entry: Entry }>();
  private duplicates = new Set<string>();
  private pathProblem = '';
  /** The last failure of each file that failed to load, for problem(). */
  private readonly failures = new Map<string, string>();
  private readonly vanished = new VanishedFiles();
  private confirmTimer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private debounceTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private rerun = false;
  private loaded = false;
  private stopped = false;
  private readonly waiters = new SyncWaiters();

  constructor(private readonly opts: ManifestSourceOptions) {}

  start(handlers: SourceHandlers): void {
    if (this.handlers) return;
    this.handlers = handlers;
    this.watchPath();
    void this.reload();
    this.pollTimer = setInterval(() => void this.reload(), this.opts.pollIntervalMs ?? 2000);
  }

  synced(timeoutMs: number): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.stopped) return Promise.reject(new SourceStoppedError());
    return this.waiters.wait(timeoutMs, () => new SyncTimeoutError(timeoutMs, ['manifests']));
  }

  resourceVersions(): { services: string; endpointSlices: string } {
    return { services: '', endpointSlices: '' };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.confirmTimer);
    this.watcher?.close();
    this.watcher = undefined;
    this.waiters.rejectAll(new SourceStoppedError());
    await this.running;
  }

  /** Re-reads changed files now and emits the difference; concurrent calls coalesce. */
  reload(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerun = false;
        await this.reloadOnce();
      } while (this.rerun && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** What keeps the source from its files now: an unreadable path, a vanished file not yet confirmed, nothing loadable. */
  problem(): string | undefined {
    const held = this.vanished.describe(this.opts.vanishedConfirmMs ?? 30_000);
    if (this.pathProblem || held) return [this.pathProblem, held].filter(Boolean).join('; ');
    const loadedSomething = [...this.files.values()].some((f) => f.entries.length > 0);
    if (!loadedSomething && this.failures.size > 0) return `manifests: no file under ${this.opts.path} could be loaded: ${[...this.failures.values()][0]}`;
    return undefined;
  }

  private warn(message: string, detail?: Record<string, unknown>): void {
    this.handlers?.onWarning(message, detail);
  }

  private watchPath(): void {
    const schedule = (): void => this.scheduleReload();
    // Watching the directory, not the file: editors and ConfigMap updates replace files by rename.
    let isDir = false;
    try {
      isDir = statSync(this.opts.path).isDirectory();
    } catch {
      // Missing for now: watch its parent for it to appear; the poll covers the rest.
    }
    const target = isDir ? this.opts.path : dirname(this.opts.path);
    try {
      this.watcher = fsWatch(target, { persistent: true }, (_event, name) => {
        if (isDir || !name || name === basename(this.opts.path)) schedule();
      });
      this.watcher.on('error', (err) => {
        this.warn(`manifests: file watch on ${target} failed (${err.message}); polling only`, { path: target });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.warn(`manifests: cannot watch ${target} (${messageOf(err)}); polling only`, { path: target });
    }
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 100);
  }

  private async listFiles(): Promise<string[]> {
    const st = await stat(this.opts.path);
    if (!st.isDirectory()) return [this.opts.path];
    const names = await readdir(this.opts.path);
    return names
      .filter((n) => !n.startsWith('.') && EXTENSIONS.has(extname(n).toLowerCase()))
      .sort()
      .map((n) => join(this.opts.path, n));
  }

  private async reloadOnce(): Promise<void> {
    let paths: string[];
    try {
      paths = await this.listFiles();
      this.pathProblem = '';
    } catch (err) {
      const msg = `manifests: cannot read ${this.opts.path}: ${messageOf(err)}`;
      if (msg !== this.pathProblem) this.warn(msg, { path: this.opts.path });
      this.pathProblem = msg;
      // An unreadable path keeps what was loaded: a transient unmount must not empty the proxy.
      // A path that is gone is like every file vanishing: believed once confirmed.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !this.loaded) {
        this.markLoaded();
        return;
      }
      paths = [];
    }
    // A file emptied to zero bytes (a failed write, `> file`) is held like one that vanished;
    // a file that says there is nothing (an empty List) is believed at once.
    const emptied = await this.emptiedFiles(paths);
    const seen = new Set(paths.filter((p) => !emptied.has(p)));
    const confirmMs = this.opts.vanishedConfirmMs ?? 30_000;
    for (const [p, state] of [...this.files]) {
      if (seen.has(p)) continue;
      const verdict = state.entries.length === 0 ? 'gone' : this.vanished.missing(p, Date.now(), confirmMs);
      const what = emptied.has(p) ? ['is empty', 'still empty'] : ['vanished', 'still gone'];
      if (verdict === 'new') {
        this.warn(`manifests: ${p} ${what[0]}; keeping its ${state.entries.length} object(s) until a read in ${confirmMs / 1000} s confirms it`, { file: p });
        clearTimeout(this.confirmTimer);
        this.confirmTimer = setTimeout(() => void this.reload(), confirmMs + 10);
      }
      if (verdict !== 'gone') continue;
      if (state.entries.length > 0)
        this.warn(`manifests: ${p} ${what[1]} after ${confirmMs / 1000} s: deleting its ${state.entries.length} object(s)`, {
          file: p,
          deleted: state.entries.length,
        });
      this.files.delete(p);
      this.failures.delete(p);
      this.filesVersion++;
    }
    this.vanished.keepOnly((p) => this.files.has(p) && !seen.has(p));
    // The first read passes its objects on only at the end: say how far it has got, per file.
    let parsedFiles = 0;
    let parsedObjects = 0;
    for (const p of paths) {
      if (!emptied.has(p)) await this.refreshFile(p);
      if (this.loaded) continue;
      parsedFiles++;
      parsedObjects += this.files.get(p)?.entries.length ?? 0;
      this.handlers?.onProgress?.(`manifests: ${parsedFiles} of ${paths.length} files parsed, ${parsedObjects} objects`);
    }
    if (this.stopped) return;
    if (this.emittedVersion !== this.filesVersion) {
      this.emittedVersion = this.filesVersion;
      this.emitDifference();
    }
    this.markLoaded();
  }

  /**
   * Files that had objects and are now zero bytes, settled: one emptied moments ago may be in
   * the middle of a rewrite (truncate, then write), which refreshFile waits out.
   */
  private async emptiedFiles(paths: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const settleMs = this.opts.debounceMs ?? 100;
    for (const p of paths) {
      if ((this.files.get(p)?.entries.length ?? 0) === 0) continue;
      const st = await stat(p).catch(() => undefined);
      if (st?.isFile() && st.size === 0 && Date.now() - st.mtimeMs >= settleMs) out.add(p);
    }
    return out;
  }

  private markLoaded(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.waiters.resolveAll();
  }

  private async refreshFile(path: string): Promise<void> {
    const prev = this.files.get(path);
    let signature: string;
    let size: bigint;
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) return;
      size = st.size;
      signature = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      // A file changed moments ago may still be being written (truncate, then write): let it
      // settle first, so a half-written file never deletes its Services for a moment.
      const settleMs = this.opts.debounceMs ?? 100;
      if (this.loaded && prev?.signature !== signature && Date.now() - Number(st.mtimeNs / 1_000_000n) < settleMs) {
        this.scheduleReload();
        return;
      }
    } catch (err) {
      // Vanished between readdir and stat: the next reload drops it.
      if (prev) this.warn(`manifests: cannot stat ${path}: ${messageOf(err)}`, { file: path });
      return;
    }
    if (prev && (prev.signature === signature || prev.failedSignature === signature)) return;
    const keep = (message: string, detail: Record<string, unknown>): void => {
      this.failures.set(path, message);
      const kept = prev ? ` keeping its last good ${prev.entries.length} object(s)` : ' nothing loaded from it';
      this.warn(`${message};${kept}`, detail);
      this.files.set(path, { signature: prev?.signature ?? '', failedSignature: signature, entries: prev?.entries ?? [] });
      this.filesVersion++;
    };
    const max = this.opts.maxFileBytes ?? 64 * 1024 * 1024;
    if (size > BigInt(max)) {
      keep(`manifests: ${path} is ${size} bytes, over the limit of ${max}`, { file: path, size: Number(size), limit: max });
      return;
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      keep(`manifests: cannot read ${path}: ${messageOf(err)}`, { file: path });
      return;
    }
    // Each document stands on its own: a malformed one is skipped with its file and line, its
    // siblings are read. The objects the file had before and the good documents no longer name
    // are kept until the file is fixed: the broken document most likely held them.
    const broken: ManifestSyntaxError[] = [];
    const entries = this.entriesOf(path, text, broken);
    if (broken.length === 0) {
      this.files.set(path, { signature, entries });
      this.failures.delete(path);
    } else {
      this.failures.set(path, `manifests: ${broken[0].message}`);
      const read = new Set(entries.map((e) => e.key));
      const kept = (prev?.entries ?? []).filter((e) => !read.has(e.key));
      const others =
        entries.length > 0 ? `${entries.length} object(s) read from its other documents` : prev ? 'no other document read' : 'nothing loaded from it';
      const keptText = prev ? `; keeping its last good ${kept.length} object(s) the other documents do not name` : '';
      for (const err of broken) {
        this.warn(`manifests: ${err.message}; document skipped; ${others}${keptText}`, { file: err.file, line: err.line, column: err.column });
      }
      this.files.set(path, { signature: prev?.signature ?? '', failedSignature: signature, entries: entries.concat(kept) });
    }
    this.filesVersion++;
  }

  /** Parses and checks one file; shape problems skip single objects, malformed documents go to `broken`. */
  private entriesOf(file: string, text: string, broken: ManifestSyntaxError[]): Entry[] {
    const out: Entry[] = [];
    for (const raw of parseManifest(file, text, (err) => broken.push(err))) {
      const r = checkShape(raw.value);
      if (r.ok === 'ignored') {
        this.warnUnknownKind(file, raw.line, r.kind);
        continue;
      }
      if (r.ok === false) {
        this.warn(`manifests: ${file}:${raw.line}: skipping ${r.kind} ${r.name}: field ${r.field}: ${r.message}`, {
          file,
          line: raw.line,
          kind: r.kind,
          name: r.name,
          field: r.field,
        });
        continue;
      }
      const c = r.checked;
      const meta = c.object.metadata;
      if (c.kind === 'Endpoints') {
        const mirrored = mirrorEndpoints(c.object);
        for (const p of mirrored.problems) {
          this.warn(`manifests: ${file}:${raw.line}: Endpoints ${meta?.namespace}/${meta?.name}: ${p}`, {
            file,
            line: raw.line,
            kind: 'Endpoints',
            name: meta?.name,
          });
        }
        for (const s of mirrored.slices)
          out.push({ kind: 'EndpointSlice', key: entryKey('EndpointSlice', s.metadata?.namespace, s.metadata?.name), object: s });
      } else if (c.kind === 'Service') {
        out.push({ kind: 'Service', key: entryKey('Service', meta?.namespace, meta?.name), object: c.object });
      } else if (c.kind === 'EndpointSlice') {
        out.push({ kind: 'EndpointSlice', key: entryKey('EndpointSlice', meta?.namespace, meta?.name), object: c.object });
      } else {
        out.push({ kind: 'Node', key: entryKey('Node', undefined, meta?.name), object: c.object });
      }
    }
    return out;
  }

  /** Once per file and kind: a kind that is neither read here nor a Kubernetes kind is most likely a typo. */
  private warnUnknownKind(file: string, line: number, kind: string): void {
    if (isOtherKubernetesKind(kind)) return;
    const key = `${file}\0${kind}`;
    if (this.unknownKinds.has(key)) return;
    if (this.unknownKinds.size >= 10_000) this.unknownKinds.clear();
    this.unknownKinds.add(key);
    const shown = kind.length > 100 ? `${kind.slice(0, 100)}... (${kind.length} characters)` : kind;
    this.warn(`manifests: ${file}:${line}: unknown kind "${shown}" (${suggestKind(kind)}); object ignored`, { file, line, kind: shown });
  }

  private readonly unknownKinds = new Set<string>();

  private selected(e: Entry): boolean {
    if (e.kind === 'Node') return !this.opts.nodeName || e.object.metadata?.name === this.opts.nodeName;
    return proxyLabelsMatch(e.object.metadata?.labels, this.opts.serviceProxyName);
  }

  private emitDifference(): void {
    const next = new Map<string, Entry>();
    const dupes = new Set<string>();
    for (const [file, state] of this.files) {
      for (const e of state.entries) {
        if (!this.selected(e)) continue;
        if (next.has(e.key)) {
          dupes.add(e.key);
          if (!this.duplicates.has(e.key)) this.warn(`manifests: ${e.key} is defined more than once; the one in ${file} wins`, { key: e.key, file });
        }
        next.set(e.key, e);
      }
    }
    this.duplicates = dupes;
    const events: SourceEvent[] = [];
    for (const [key, old] of this.emitted) {
      if (next.has(key)) continue;
      this.emitted.delete(key);
      const m = old.entry.object.metadata;
      if (old.entry.kind === 'Node') events.push({ kind: 'Node', type: 'delete', name: m?.name ?? '' });
      else events.push({ kind: old.entry.kind, type: 'delete', namespace: m?.namespace ?? 'default', name: m?.name ?? '' });
    }
    for (const [key, e] of next) {
      const last = this.emitted.get(key)?.entry;
      if (last === e) continue;
      this.emitted.set(key, { entry: e });
      if (last !== undefined && last.kind === e.kind && JSON.stringify(last.object) === JSON.stringify(e.object)) continue;
      if (e.kind === 'Service') events.push({ kind: 'Service', type: 'upsert', object: e.object });
      else if (e.kind === 'EndpointSlice') events.push({ kind: 'EndpointSlice', type: 'upsert', object: e.object });
      else events.push({ kind: 'Node', type: 'upsert', object: e.object });
    }
    if (events.length === 0 || !this.handlers) return;
    try {
      this.handlers.onEvents(events);
    } catch (err) {
      this.warn(`event handler failed: ${messageOf(err)}`, { error: err });
    }
  }
}

/** Files that vanished from the listing while they had objects, and since when. */
class VanishedFiles {
  private readonly since = new Map<string, number>();

  /** 'new' the first time a file is missed, 'held' within the confirmation delay, 'gone' after it. */
  missing(path: string, now: number, confirmMs: number): 'new' | 'held' | 'gone' {
    const since = this.since.get(path);
    if (since === undefined) {
      this.since.set(path, now);
      return 'new';
    }
    if (now - since < confirmMs) return 'held';
    this.since.delete(path);
    return 'gone';
  }

  /** Forget files that came back (or were dropped). */
  keepOnly(stillMissing: (path: string) => boolean): void {
    for (const p of [...this.since.keys()]) if (!stillMissing(p)) this.since.delete(p);
  }

  describe(confirmMs: number): string | undefined {
    if (this.since.size === 0) return undefined;
    const files = [...this.since.keys()];
    return `manifests: ${files.join(', ')} vanished; ${files.length === 1 ? 'its' : 'their'} objects are kept until a read ${confirmMs / 1000} s later confirms it`;
  }
}
