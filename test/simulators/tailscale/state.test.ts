/** Dump and load of the tailnet state, to a file, and the runnable main with --state-file. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSimulatorArgs, runSimulatorMain } from '../../../simulators/tailscale/main';
import { HttpSimulatorAdmin } from '../../../simulators/tailscale/admin-client';
import { startSim, vipPath } from './support';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ts-sim-state-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a saved state file restores tokens, services, devices, keys and policy in a new simulator', async () => {
  const file = join(dir, 'roundtrip.json');
  const first = await startSim({ dnsSuffix: 'tailsaved1.ts.net' });
  let token: string;
  let nodeId: string;
  let addrs: string[];
  try {
    token = await first.token(['services', 'devices:core', 'auth_keys']);
    addrs = (
      await first.call<{ addrs: string[] }>('PUT', vipPath('svc:kept'), {
        token,
        body: { name: 'svc:kept', comment: 'c' },
      })
    ).json.addrs;
    nodeId = (await first.device('kept-host')).nodeId;
    await first.admin.setPolicy({ autoApprovers: { services: { 'svc:kept': ['tag:k8s'] } } });
    await first.admin.saveStateFile(file);
  } finally {
    await first.close();
  }

  const second = await startSim();
  try {
    await second.admin.loadStateFile(file);
    expect((await second.call('GET', vipPath('svc:kept'), { token })).json).toEqual({
      name: 'svc:kept',
      addrs,
      comment: 'c',
    });
    const device = await second.call<{ name: string }>('GET', `/api/v2/device/${nodeId}`, { token });
    expect(device.json.name).toBe('kept-host.tailsaved1.ts.net');
    const [tailnet] = await second.admin.listTailnets();
    expect(tailnet!.policy.autoApprovers.services).toEqual({ 'svc:kept': ['tag:k8s'] });
    // The device label index is rebuilt, so the name clash still holds after a load.
    const clash = await second.call('GET', vipPath('svc:kept-host'), { token });
    expect(clash.json).toEqual({ message: 'name exists but is not a service' });
  } finally {
    await second.close();
  }
});

test('dumpState is a copy: editing it does not touch the live state; loadState validates', async () => {
  const h = await startSim();
  try {
    const dump = await h.admin.dumpState();
    dump.tailnets[0]!.dnsSuffix = 'changed.ts.net';
    expect((await h.admin.listTailnets())[0]!.dnsSuffix).not.toBe('changed.ts.net');
    await expect(h.admin.loadState({ version: 2 } as never)).rejects.toMatchObject({ status: 400 });
    await h.admin.loadState(dump);
    expect((await h.admin.listTailnets())[0]!.dnsSuffix).toBe('changed.ts.net');
    const overHttp = await h.call('PUT', '/__admin/state', { body: { nope: true } });
    expect(overHttp.status).toBe(400);
  } finally {
    await h.close();
  }
});

test('loadStateFile of a missing or corrupt file is a 400, and the state is unchanged', async () => {
  const h = await startSim();
  try {
    const corrupt = join(dir, 'corrupt.json');
    await writeFile(corrupt, '{"version":1,');
    const before = await h.admin.dumpState();
    await expect(h.admin.loadStateFile(corrupt)).rejects.toMatchObject({ status: 400 });
    await expect(h.admin.loadStateFile(join(dir, 'absent.json'))).rejects.toMatchObject({ status: 400 });
    expect(await h.admin.dumpState()).toEqual(before);
  } finally {
    await h.close();
  }
});

describe('main', () => {
  test('parses flags and rejects unknown ones', () => {
    expect(
      parseSimulatorArgs(['--port', '8080', '--state-file', '/tmp/x.json', '--dns-suffix', 'a.ts.net']),
    ).toEqual({
      port: 8080,
      stateFile: '/tmp/x.json',
      dnsSuffix: 'a.ts.net',
    });
    expect(() => parseSimulatorArgs(['--bogus', '1'])).toThrow(/Unknown option '--bogus'/);
    expect(() => parseSimulatorArgs(['--port'])).toThrow(/argument missing/);
    expect(() => parseSimulatorArgs(['--port', '99999'])).toThrow(/invalid --port/);
  });

  test('prints one JSON line with the URL, saves state on shutdown and loads it on the next start', async () => {
    const file = join(dir, 'main.json');
    const lines: string[] = [];
    const running = await runSimulatorMain(
      ['--port', '0', '--state-file', file, '--dns-suffix', 'tailmain01.ts.net'],
      (l) => lines.push(l),
    );
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0]!) as { url: string; adminUrl: string };
    expect(printed.url).toBe(running.url);
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const admin = new HttpSimulatorAdmin(printed.url);
    const client = await admin.createOAuthClient({ scopes: ['services'] });
    await running.shutdown();
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      tailnets: Array<{ oauthClients: Array<{ id: string }> }>;
    };
    expect(saved.tailnets[0]!.oauthClients.map((c) => c.id)).toEqual([client.id]);

    const restarted = await runSimulatorMain(['--state-file', file], () => undefined);
    try {
      const reply = await fetch(`${restarted.url}/api/v2/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: client.id, client_secret: client.secret }),
      });
      expect(reply.status).toBe(200);
      expect((await new HttpSimulatorAdmin(restarted.url).listTailnets())[0]!.dnsSuffix).toBe(
        'tailmain01.ts.net',
      );
    } finally {
      await restarted.shutdown();
    }
  });
});
