import type { MessageCodec } from './codec';
import { InvalidRequestError } from './hook-context';

/** Decodes an Envoy resource from a request, turning a protobuf decode failure into INVALID_ARGUMENT. */
export function decodeResource<T>(codec: MessageCodec<T>, bytes: Uint8Array | undefined, what: string): T {
  if (!bytes || bytes.length === 0) throw new InvalidRequestError(`request has no ${what}`);
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw new InvalidRequestError(`${what} is not a valid ${codec.typeName}: ${(err as Error).message}`);
  }
}
