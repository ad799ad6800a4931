// What a source (Kubernetes informers or manifest files) tells the model. The model applies
// these events; the source handles lists, watches, relists and turns them into events.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';

export type SourceEvent =
  | { kind: 'Service'; type: 'upsert'; object: V1Service }
  | { kind: 'Service'; type: 'delete'; namespace: string; name: string }
  | { kind: 'EndpointSlice'; type: 'upsert'; object: V1EndpointSlice }
  | { kind: 'EndpointSlice'; type: 'delete'; namespace: string; name: string }
  | { kind: 'Node'; type: 'upsert'; object: V1Node }
  | { kind: 'Node'; type: 'delete'; name: string };

export interface SourceHandlers {
  /** A batch of changes (one watch event, or the difference a relist or file reload found). */
  onEvents(events: SourceEvent[]): void;
  /** A problem the source recovered from or skipped past (bad file, watch error); for logs. */
  onWarning(message: string, detail?: Record<string, unknown>): void;
  /**
   * How far a first read has got before its objects are passed on (manifest files parsed, list
   * pages received), in words for the first sync's progress lines; called per file or page.
   */
  onProgress?(reading: string): void;
}

export interface ServiceSource {
  /** Start listing and watching; events flow to the handlers until stop(). */
  start(handlers: SourceHandlers): void;
  /** Resolves once Services and EndpointSlices have both been listed in full (rejects after timeoutMs). */
  synced(timeoutMs: number): Promise<void>;
  /** Resource versions reflected so far (opaque strings; '' for manifests). */
  resourceVersions(): { services: string; endpointSlices: string };
  stop(): Promise<void>;
  /**
   * What keeps the source from reading what it should, naming the path or resource and the
   * reason (unreadable, vanished and not yet confirmed, nothing loadable); undefined when none.
   */
  problem?(): string | undefined;
  /** Read the source again now (manifests); resolves when the read is done. */
  reload?(): Promise<void>;
}
