import { readFileSync } from 'node:fs';
import type { TemporalConfig } from './config';

/** Connection options shared by the Temporal Client (watchers) and NativeConnection (worker). */
export function temporalConnectionOptions(config: TemporalConfig) {
  const tls = config.tls
    ? {
        clientCertPair:
          config.clientCertPath && config.clientKeyPath
            ? { crt: readFileSync(config.clientCertPath), key: readFileSync(config.clientKeyPath) }
            : undefined,
      }
    : undefined;
  return {
    address: config.address,
    tls,
    apiKey: config.apiKey,
  };
}
