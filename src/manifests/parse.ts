// Parses one manifest file (multi-document YAML or JSON, `kind: List` documents flattened) into
// raw objects that remember the line they start on. A syntax error names file, line and column;
// with `onError` a malformed document is reported and skipped and its siblings still count,
// without it the whole file fails.
import type { Node } from 'yaml';
import { yaml } from '../util/yaml.js';

export interface RawManifestObject {
  file: string;
  /** 1-based line where the object starts. */
  line: number;
  value: unknown;
}

export class ManifestSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}${column !== undefined ? `:${column}` : ''}: ${detail}`);
    this.name = 'ManifestSyntaxError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `kind: List` and typed lists (ServiceList, ...) as kubectl writes them. */
function isListDocument(v: unknown): v is { items: unknown[] } {
  return isRecord(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

/**
 * A JSON document (what `kubectl get -o json` writes) through JSON.parse: tens of times faster
 * than the YAML parser on a 10,000-service list. List items then carry the document's line; a
 * file that is not strict JSON goes through the YAML parser, which also locates any error.
 */
function parseJson(file: string, text: string): RawManifestObject[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null) return [];
  if (isListDocument(value)) return value.items.map((item) => ({ file, line: 1, value: item }));
  return [{ file, line: 1, value }];
}

export function parseManifest(file: string, text: string, onError?: (err: ManifestSyntaxError) => void): RawManifestObject[] {
  if (/^\s*\{/.test(text)) {
    const json = parseJson(file, text);
    if (json) return json;
  }
  const { isMap, isSeq, LineCounter, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: RawManifestObject[] = [];
  const lineOf = (node: Node | null | undefined, fallback: number): number => (node?.range ? lineCounter.linePos(node.range[0]).line : fallback);
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const syntax = new ManifestSyntaxError(file, pos?.line, pos?.col, err.message.split('\n')[0]);
      if (!onError) throw syntax;
      onError(syntax);
      continue;
    }
    if (doc.contents === null) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const docLine = lineOf(doc.contents, 1);
    if (isListDocument(value)) {
      const itemsNode = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      const nodes = isSeq(itemsNode) ? itemsNode.items : [];
      value.items.forEach((item, i) => {
        const n = nodes[i];
        out.push({ file, line: lineOf(n && typeof n === 'object' && 'range' in n ? (n as Node) : undefined, docLine), value: item });
      });
    } else {
      out.push({ file, line: docLine, value });
    }
  }
  return out;
}
