import * as grpc from '@grpc/grpc-js';
import { extensionServiceName } from '../../extension/codec';

const identity = (b: Buffer) => b;

/** Calls one hook with raw request bytes, as Envoy Gateway's client would; resolves with raw response bytes. */
export function callHook(client: grpc.Client, hook: string, request: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${extensionServiceName}/${hook}`,
      identity,
      identity,
      Buffer.from(request),
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
}

export function hookClient(port: number, options: grpc.ClientOptions = {}): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    ...options,
  });
}
