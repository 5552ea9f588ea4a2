/** A proxy config file containerboot exits on; the message is the line it logs (no secrets). */
export class ProxyConfigRefused extends Error {
  override readonly name = 'ProxyConfigRefused';
}
