/**
 * Runs the proxy simulator as a process next to the operator (the local stack's stand-in for proxy pods):
 *   KUBECONFIG=... TAILSCALE_SIMULATOR_URL=http://127.0.0.1:PORT [PROXY_SIMULATOR_NAMESPACES=a,b] \
 *     [PROXY_SIMULATOR_CAPVER=142] node dist/simulators/proxy/main.js
 */
import { loadKubeConfig } from '../../runtime/kube';
import { createLogger } from '../../runtime/logger';
import { HttpSimulatorAdmin } from '../tailscale/admin-client';
import { startProxySimulator } from './simulator';

function main() {
  const logger = createLogger({ fields: { component: 'proxy-simulator' } });
  const kubeconfig = process.env.KUBECONFIG;
  const url = process.env.TAILSCALE_SIMULATOR_URL;
  if (!kubeconfig || !url) {
    throw new Error(
      'set KUBECONFIG and TAILSCALE_SIMULATOR_URL (the Tailscale simulator, e.g. http://127.0.0.1:41641)',
    );
  }
  const namespaces = (process.env.PROXY_SIMULATOR_NAMESPACES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const simulator = startProxySimulator({
    kc: loadKubeConfig(kubeconfig),
    tailscale: new HttpSimulatorAdmin(url),
    namespaces: namespaces.length ? namespaces : undefined,
    logger,
    ...(process.env.PROXY_SIMULATOR_CAPVER ? { capVersion: Number(process.env.PROXY_SIMULATOR_CAPVER) } : {}),
    imageCapVersions: imageCapVersionsOf(process.env.PROXY_SIMULATOR_IMAGE_CAPVERS ?? ''),
  });
  logger.info('proxy simulator started', {
    tailscale: url,
    namespaces: namespaces.length ? namespaces : 'all',
  });
  const shutdown = async () => {
    await simulator.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    createLogger({ fields: { component: 'proxy-simulator' } }).error('proxy simulator failed to start', {
      error: err,
    });
    process.exit(1);
  }
}

/** `image=N,image=N`: the capability version each listed image plays (an image holds no `=` or `,`). */
function imageCapVersionsOf(text: string): Record<string, number> {
  return Object.fromEntries(
    text
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const at = entry.lastIndexOf('=');
        return [entry.slice(0, at), Number(entry.slice(at + 1))];
      }),
  );
}
