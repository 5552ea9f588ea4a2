/**
 * Reads what a real Envoy Gateway publishes over its ADS port, as an Envoy would: one state-of-the-world
 * `StreamAggregatedResources` stream over mTLS with the Envoy client certificate EG's `certgen --local`
 * wrote, one DiscoveryRequest for a type, the resources of the first non-empty response.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

// The few fields of envoy.service.discovery.v3 a one-shot read needs, with Envoy's field numbers.
const adsRoot = protobuf.parse(`
  syntax = "proto3";
  package adsreader;
  message Node { string id = 1; string cluster = 2; }
  message PackedResource { string type_url = 1; bytes value = 2; }
  message DiscoveryRequest {
    string version_info = 1;
    Node node = 2;
    repeated string resource_names = 3;
    string type_url = 4;
    string response_nonce = 5;
  }
  message DiscoveryResponse {
    string version_info = 1;
    repeated PackedResource resources = 2;
    string type_url = 4;
    string nonce = 5;
  }
`).root;
const requestType = adsRoot.lookupType('adsreader.DiscoveryRequest');
const responseType = adsRoot.lookupType('adsreader.DiscoveryResponse');

interface DiscoveryResponse {
  versionInfo: string;
  resources: { typeUrl: string; value: Uint8Array }[];
  typeUrl: string;
}

export const clusterTypeUrl = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const secretTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

const identity = (b: Buffer) => b;

/**
 * The resources of `typeUrl` EG serves to a node of `irKey` (its snapshot cache is keyed by the node's
 * `cluster`, which is the Gateway's `<namespace>/<name>` when gateways are not merged).
 */
export async function readPublished(opts: {
  port: number;
  configHome: string;
  irKey: string;
  typeUrl: string;
  timeoutMs?: number;
}): Promise<Uint8Array[]> {
  const certs = join(opts.configHome, 'certs', 'envoy');
  const credentials = grpc.credentials.createSsl(
    readFileSync(join(certs, 'ca.crt')),
    readFileSync(join(certs, 'tls.key')),
    readFileSync(join(certs, 'tls.crt')),
  );
  // The xDS server certificate names EG's in-cluster Service, not loopback.
  const client = new grpc.Client(`127.0.0.1:${opts.port}`, credentials, {
    'grpc.ssl_target_name_override': 'envoy-gateway',
    'grpc.default_authority': 'envoy-gateway',
    'grpc.max_receive_message_length': -1,
  });
  const stream = client.makeBidiStreamRequest(
    '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    identity,
    identity,
  );
  try {
    return await new Promise<Uint8Array[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`no ${opts.typeUrl} from EG's ADS port within ${opts.timeoutMs ?? 20_000} ms`)),
        opts.timeoutMs ?? 20_000,
      );
      stream.on('data', (bytes: Buffer) => {
        const res = responseType.toObject(responseType.decode(bytes), {
          defaults: true,
        }) as DiscoveryResponse;
        // Until the Gateway's snapshot exists EG may answer with nothing; it pushes once it has one.
        if (res.typeUrl !== opts.typeUrl || !res.resources.length) return;
        clearTimeout(timer);
        resolve(res.resources.map((r) => r.value));
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      const request = requestType
        .encode(
          requestType.fromObject({
            node: { id: 'ads-reader', cluster: opts.irKey },
            typeUrl: opts.typeUrl,
          }),
        )
        .finish();
      stream.write(Buffer.from(request));
    });
  } finally {
    stream.cancel();
    client.close();
  }
}
