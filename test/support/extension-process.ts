import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/paths';
import { spawnManaged, waitUntil, type ManagedProcess } from '../../tools/stack/process';
import { stackInfo } from './stack';

/** The extension server as deployed: its own process (`dist/extension/main.js`), fed by watches on the API server. */
export interface ExtensionProcess {
  process: ManagedProcess;
  grpcPort: number;
  /** `http://127.0.0.1:<port>` of /metrics, /healthz, /ready and /health. */
  httpBase: string;
}

/**
 * Starts it on ports the OS picks (read back from its start-up log line) against the test stack's API
 * server, watching `namespace`, and resolves once /ready says every watched kind has listed.
 */
export async function startExtensionProcess(opts: {
  namespace: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
}): Promise<ExtensionProcess> {
  const proc = spawnManaged({
    name: 'extension',
    command: process.execPath,
    args: [join(repoRoot(), 'dist', 'extension', 'main.js')],
    logFile: opts.logFile,
    env: {
      ...process.env,
      KUBECONFIG: stackInfo().kubeconfigPath,
      WATCH_NAMESPACES: opts.namespace,
      EXTENSION_GRPC_ADDRESS: '127.0.0.1:0',
      EXTENSION_HTTP_ADDRESS: '127.0.0.1:0',
      ...opts.env,
    },
  });
  let ports: { grpcPort: number; httpPort: number } | undefined;
  await waitUntil(
    'extension server started',
    () => {
      const log = existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8') : '';
      for (const line of log.split('\n')) {
        if (line.includes('extension server started'))
          ports = JSON.parse(line) as { grpcPort: number; httpPort: number };
      }
      return Promise.resolve(ports !== undefined);
    },
    { timeoutMs: 30_000, process: proc },
  );
  const httpBase = `http://127.0.0.1:${ports!.httpPort}`;
  await waitUntil('extension index loaded', async () => (await fetch(`${httpBase}/ready`)).ok, {
    timeoutMs: 60_000,
    process: proc,
  });
  return { process: proc, grpcPort: ports!.grpcPort, httpBase };
}
