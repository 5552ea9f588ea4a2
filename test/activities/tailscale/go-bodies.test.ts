/**
 * What a Go server sends that the simulator never does: an empty slice encoded as `null`, a list field
 * left out (`omitempty`), and writes answered with an empty or non-object body (Go clients ignore the
 * body of a write; the API has been seen answering `null`, tailscale/tailscale#18253). A real HTTP
 * server on loopback answers each body; the client must read them as empty lists / no echo.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TailscaleClient } from '../../../activities/tailscale/client';
import { deleteDevice, listDevices } from '../../../activities/tailscale/devices';
import { deleteKey, listKeys, revokeUsableKeysDescribed } from '../../../activities/tailscale/keys';
import {
  deleteVipService,
  listVipServiceHosts,
  listVipServices,
  putVipService,
} from '../../../activities/tailscale/vip-services';
import { silentLogger, thrown } from './support';

let server: Server;
let client: TailscaleClient;
/** The body every API call is answered with (status 200), set per test. */
let body = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/api/v2/oauth/token') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'tskey-api-test', token_type: 'Bearer', expires_in: 3600 }));
        return;
      }
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, body === '' ? {} : { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new TailscaleClient({
    clientId: 'test-client',
    clientSecret: 'test-secret',
    baseUrl: `http://127.0.0.1:${port}`,
    logger: silentLogger,
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const lists = [
  ['keys', () => listKeys(client, { all: true })],
  ['devices', () => listDevices(client)],
  ['vipServices', () => listVipServices(client)],
  ['hosts', () => listVipServiceHosts(client, 'svc:web')],
] as const;

describe.each(lists)('a list of %s', (field, list) => {
  test.each([`{"${field}":null}`, '{}'])('answered %s is empty', async (answer) => {
    body = answer;
    await expect(list()).resolves.toEqual([]);
  });

  test.each([`{"${field}":{}}`, `{"${field}":"x"}`, 'null', '[]'])(
    'answered %s is an unexpected body, not an empty list',
    async (answer) => {
      body = answer;
      expect(await thrown(list)).toMatchObject({ type: 'TailscaleUnexpectedResponse', retryable: false });
    },
  );
});

test('the revocation before a mint finds nothing to revoke in a null key list', async () => {
  body = '{"keys":null}';
  await expect(revokeUsableKeysDescribed(client, 'web-0 in ns 1a2b3c4d')).resolves.toEqual([]);
});

test.each(['', 'null', '{}', '[]', '"ok"', 'true', 'OK'])(
  'a VIP service PUT answered %j succeeds without an echo',
  async (answer) => {
    body = answer;
    requests.length = 0;
    await expect(putVipService(client, { name: 'svc:web', ports: ['tcp:443'] })).resolves.toBeNull();
    expect(requests).toEqual(['PUT /api/v2/tailnet/-/vip-services/svc:web']);
  },
);

test('a VIP service PUT answered with the stored service returns it', async () => {
  body = JSON.stringify({ name: 'svc:web', addrs: ['100.64.0.5', 'fd7a:115c:a1e0::5'], ports: ['tcp:443'] });
  await expect(putVipService(client, { name: 'svc:web', ports: ['tcp:443'] })).resolves.toMatchObject({
    name: 'svc:web',
    addrs: ['100.64.0.5', 'fd7a:115c:a1e0::5'],
  });
});

test.each(['', 'null', 'OK'])('deletes answered %j succeed', async (answer) => {
  body = answer;
  await expect(deleteVipService(client, 'svc:web')).resolves.toBe(true);
  await expect(deleteKey(client, 'k1CNTRL')).resolves.toBe(true);
  await expect(deleteDevice(client, 'n1CNTRL')).resolves.toBe(true);
});
