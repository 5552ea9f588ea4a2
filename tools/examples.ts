/**
 * What `npm start` and the examples test share: the numbered example files in apply order, a Tailscale
 * simulator with an OAuth client for the operator, and the examples' tailnet Secret filled with it.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TailscaleClient } from '../activities/tailscale/client';
import { createAuthKey } from '../activities/tailscale/keys';
import { repoRoot } from '../runtime/paths';
import type { CreatedOAuthClient } from '../simulators/tailscale/admin';
import { startTailscaleSimulator, type TailscaleSimulator } from '../simulators/tailscale/server';
import { readStateFile, saveStateFile, type StateDump } from '../simulators/tailscale/state';
import { readManifests } from './stack/apply';
import { operatorOAuthScopes } from './stack/tailnet';

/** The tag the operator's OAuth client needs (examples/01-tailnet.yaml documents it and the scopes). */
export const exampleTag = 'tag:k8s';

export const examplesDir = () => join(repoRoot(), 'examples');

/** `NN-*.yaml`, in the order a user applies them. */
export function exampleFiles(dir = examplesDir()): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d+-.*\.yaml$/.test(f))
    .sort();
}

export function readExample(file: string, dir = examplesDir()): KubernetesObject[] {
  return readManifests(join(dir, file));
}

export interface ExampleTailscale {
  sim: TailscaleSimulator;
  oauth: CreatedOAuthClient;
  /** Writes the simulator's state back to the state file (when there is one). */
  save(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A Tailscale simulator the operator can use like the real API: an OAuth client with the operator's scopes
 * and a device already on the tailnet (a tailnet with no device has no discoverable MagicDNS suffix). With
 * a state file the tailnet survives restarts, as a real one would.
 */
export async function startExampleTailscale(
  opts: { port?: number; stateFile?: string; dnsSuffix?: string } = {},
): Promise<ExampleTailscale> {
  const restored =
    opts.stateFile && existsSync(opts.stateFile)
      ? ((await readStateFile(opts.stateFile)) as StateDump)
      : undefined;
  const sim = await startTailscaleSimulator({
    port: opts.port,
    state: restored,
    dnsSuffix: restored ? undefined : (opts.dnsSuffix ?? 'tail0e1a2b.ts.net'),
  });
  try {
    const oauth = await sim.admin.createOAuthClient({
      scopes: operatorOAuthScopes,
      tags: [exampleTag],
      description: 'tailscale-gateway-operator (local stack)',
    });
    if (!restored) {
      // The examples' proxies (tag:k8s) may serve the examples' services (tag:k8s) without a manual
      // approval each: a VIP service is Ready only once Tailscale approved a host.
      await sim.admin.setPolicy({ autoApprovers: { services: { [exampleTag]: [exampleTag] } } });
      const api = new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url });
      const key = await createAuthKey(api, { preauthorized: true, tags: [exampleTag] });
      await sim.admin.registerDevice({ authKey: key.key, hostname: 'workstation' });
      // The target of the egress example (09-egress.yaml); tools/example-backend.ts serves it.
      const targetKey = await createAuthKey(api, { preauthorized: true, tags: [exampleTag] });
      await sim.admin.registerDevice({ authKey: targetKey.key, hostname: 'web-service' });
    }
    const save = async () => {
      if (!opts.stateFile) return;
      mkdirSync(dirname(opts.stateFile), { recursive: true });
      await saveStateFile(opts.stateFile, await sim.admin.dumpState());
    };
    return { sim, oauth, save, close: () => sim.close() };
  } catch (err) {
    await sim.close();
    throw err;
  }
}

/** The examples' OAuth Secret (keys client_id, client_secret) with the simulator's client in it. */
export function withOAuthClient(objects: KubernetesObject[], oauth: CreatedOAuthClient): KubernetesObject[] {
  return objects.map((obj) => {
    const data = (obj as { stringData?: Record<string, string> }).stringData;
    if (obj.kind !== 'Secret' || !data || !('client_id' in data)) return obj;
    return {
      ...obj,
      stringData: { ...data, client_id: oauth.id, client_secret: oauth.secret },
    } as KubernetesObject;
  });
}
