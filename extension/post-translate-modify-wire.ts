/**
 * PostTranslateModify on the wire. Its response is the request's four lists as they came (fields 2–5
 * renumbered 1–4) plus our clusters, so instead of decoding every resource into a list and encoding
 * them all again, each field's bytes are copied behind a rewritten one-byte tag. Same answer as
 * postTranslateModify (a differential test holds them equal); at 1,000 backends it is most of the
 * hook's cost (bench/RESULTS.md).
 */
import * as protobuf from 'protobufjs';
import { peekStringField, rpcCodecs } from './codec';
import type { IndexSnapshot } from './backend-index';
import { InvalidRequestError, type HookDeps } from './hook-context';
import { clusterNameField, ourClusters } from './post-translate-modify';
import { hasStreamRouteBackends, rewriteStreamRouteCluster } from './stream-route-clusters';

const contextField = 1;
/** Request field → response field: clusters, secrets, listeners, routes. */
const renumbered: Record<number, number> = { 2: 1, 3: 2, 4: 3, 5: 4 };
const lengthDelimited = 2;

export function postTranslateModifyWire(request: Buffer, deps: HookDeps): Buffer {
  // Spans of the request to copy (length prefix and payload), each behind its response tag; a
  // rewritten cluster instead carries its new field (length prefix and payload).
  const spans: ({ tag: number; start: number; end: number } | { tag: number; field: Uint8Array })[] = [];
  const clusterNames = new Set<string | undefined>();
  const snapshot = deps.index.current();
  const ours = ourClusterFields(snapshot);
  const rewrite = hasStreamRouteBackends(snapshot);
  const reader = protobuf.Reader.create(request);
  try {
    while (reader.pos < reader.len) {
      const fieldStart = reader.pos;
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wireType = tag & 7;
      const to = renumbered[field];
      if (field !== contextField && to === undefined) {
        reader.skipType(wireType);
        continue;
      }
      if (wireType !== lengthDelimited) throw new Error(`field ${field} has wire type ${wireType}`);
      const spanStart = reader.pos;
      const body = reader.bytes();
      if (to === undefined) {
        // The context: validated as the codec would, though nothing in it shapes the answer.
        rpcCodecs.PostTranslateModify.request.decode(request.subarray(fieldStart, reader.pos));
        continue;
      }
      const toTag = (to << 3) | lengthDelimited;
      if (to === 1 && (ours.size > 0 || rewrite)) {
        const name = clusterName(body);
        clusterNames.add(name);
        const rewritten = rewrite ? rewriteStreamRouteCluster(snapshot, name, body) : undefined;
        if (rewritten) {
          spans.push({ tag: toTag, field: protobuf.Writer.create().bytes(rewritten).finish() });
          continue;
        }
      }
      spans.push({ tag: toTag, start: spanStart, end: reader.pos });
    }
  } catch (err) {
    throw new InvalidRequestError(`PostTranslateModifyRequest is malformed: ${(err as Error).message}`);
  }
  const added = [...ours].filter(([name]) => !clusterNames.has(name)).map(([, bytes]) => bytes);
  let size = added.reduce((n, b) => n + b.length, 0);
  for (const span of spans) size += 1 + ('field' in span ? span.field.length : span.end - span.start);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const span of spans) {
    out[at++] = span.tag;
    if ('field' in span) {
      out.set(span.field, at);
      at += span.field.length;
    } else at += request.copy(out, at, span.start, span.end);
  }
  for (const bytes of added) at += bytes.copy(out, at);
  return out;
}

/** Our clusters as encoded response fields (tag, length, cluster), once per index snapshot. */
function ourClusterFields(snapshot: IndexSnapshot): Map<string, Buffer> {
  return snapshot.memoize('tailscale-cluster-fields', () => {
    const out = new Map<string, Buffer>();
    for (const [name, cluster] of ourClusters(snapshot)) {
      const writer = protobuf.Writer.create();
      writer.uint32((1 << 3) | lengthDelimited).bytes(cluster);
      out.set(name, Buffer.from(writer.finish()));
    }
    return out;
  });
}

/**
 * A cluster's name: Envoy Gateway (like every protobuf encoder) writes field 1 first, so it is read
 * in place; anything else gets the full scan.
 */
function clusterName(cluster: Uint8Array): string | undefined {
  if (cluster[0] !== ((clusterNameField << 3) | lengthDelimited))
    return peekStringField(cluster, clusterNameField);
  let length = 0;
  let at = 1;
  for (let shift = 0; at < cluster.length && shift < 28; shift += 7) {
    const byte = cluster[at++]!;
    length |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      if (at + length > cluster.length) return undefined;
      // A repeated name field later in the message would win; rare enough for the full scan.
      const end = at + length;
      return end === cluster.length || cluster[end] !== cluster[0]
        ? Buffer.from(cluster.buffer, cluster.byteOffset + at, length).toString('utf8')
        : peekStringField(cluster, clusterNameField);
    }
  }
  return peekStringField(cluster, clusterNameField);
}
