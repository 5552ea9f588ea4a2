/**
 * Bad input gets the API's status and a JSON `{"message"}` (never a crash), and the server keeps
 * serving: malformed JSON, wrong types, oversized bodies, odd paths and methods.
 */
import { connect } from 'node:net';
import { seededRandom } from '../../../simulators/tailscale/ids';
import { startSim, vipPath, type SimHarness } from './support';

let h: SimHarness;
let token: string;
let nodeId: string;
beforeAll(async () => {
  h = await startSim({ maxBodyBytes: 1024 * 1024 });
  token = await h.token(['services', 'devices:core', 'auth_keys'], ['tag:k8s']);
  nodeId = (await h.device('fuzz-host')).nodeId;
});
afterAll(() => h.close());

async function expectStillServing(): Promise<void> {
  const reply = await h.call('PUT', vipPath('svc:alive'), { token, body: { name: 'svc:alive' } });
  expect([200, 400]).toContain(reply.status);
  expect((await h.call('GET', '/api/v2/tailnet/-/vip-services', { token })).status).toBe(200);
}

const jsonMessage = { message: expect.any(String) as unknown };

test.each([
  ['{', 'truncated object'],
  ['[]', 'an array'],
  ['"svc:x"', 'a string'],
  ['null', 'null'],
  ['', 'an empty body'],
  ['{"name":"svc:x",}', 'a trailing comma'],
  ['\u0000\u0001binary', 'binary junk'],
])('malformed JSON (%s: %s) on every write route is 400 JSON', async (rawBody) => {
  for (const [method, path] of [
    ['PUT', vipPath('svc:x')],
    ['POST', '/api/v2/tailnet/-/keys'],
    ['POST', `/api/v2/device/${nodeId}/tags`],
    ['POST', `/api/v2/device/${nodeId}/authorized`],
  ]) {
    const reply = await h.call(method!, path!, {
      token,
      rawBody,
      headers: { 'content-type': 'application/json' },
    });
    expect({ path, status: reply.status }).toEqual({ path, status: 400 });
    expect(reply.json).toEqual(jsonMessage);
  }
  await expectStillServing();
});

test.each([
  [{ name: 'svc:t', addrs: '100.64.0.1' }],
  [{ name: 'svc:t', addrs: [1, 2] }],
  [{ name: 'svc:t', tags: [null] }],
  [{ name: 'svc:t', annotations: ['a'] }],
  [{ name: 'svc:t', comment: { nested: true } }],
  [{ name: ['svc:t'] }],
  [{ name: 'svc:t', ports: [443] }],
])('wrong types %j are 400 JSON', async (body) => {
  const reply = await h.call('PUT', vipPath('svc:t'), { token, body });
  expect(reply.status).toBe(400);
  expect(reply.json).toEqual(jsonMessage);
});

test('an oversized body is 413 JSON and the server keeps serving', async () => {
  const huge = JSON.stringify({ name: 'svc:big', comment: 'x'.repeat(2 * 1024 * 1024) });
  const reply = await h.call('PUT', vipPath('svc:big'), {
    token,
    rawBody: huge,
    headers: { 'content-type': 'application/json' },
  });
  expect(reply.status).toBe(413);
  expect(reply.json).toEqual(jsonMessage);
  expect((await h.call('GET', vipPath('svc:big'), { token })).status).toBe(404);
  await expectStillServing();
});

test('a body just under the cap is accepted', async () => {
  const comment = 'y'.repeat(1024 * 1024 - 200);
  const reply = await h.call('PUT', vipPath('svc:nearcap'), {
    token,
    body: { name: 'svc:nearcap', comment },
  });
  expect(reply.status).toBe(200);
});

test.each([
  ['GET', '/'],
  ['GET', '/api/v2'],
  ['GET', '/api/v2/tailnet/-/vip-services/svc:a/extra/segments'],
  ['GET', '/api/v2/tailnet/-/vip-services/'],
  ['GET', '/api/v2/../../etc/passwd'],
  ['GET', '/api/v2/tailnet/-/vip-services/%E0%A4%A'],
  ['GET', '/api/v2/tailnet/-/vip-services/svc%00web'],
  ['DELETE', '/api/v2/oauth/token'],
  ['PATCH', '/api/v2/tailnet/-/vip-services/svc:a'],
  ['POST', '/api/v2/tailnet/-/vip-services'],
  ['OPTIONS', '/api/v2/tailnet/-/devices'],
])('odd request %s %s gets a 4xx and the server keeps serving', async (method, path) => {
  const reply = await h.call(method, path, { token });
  expect(reply.status).toBeGreaterThanOrEqual(400);
  expect(reply.status).toBeLessThan(500);
  await expectStillServing();
});

test('a known path with a wrong method is a 404 JSON like an unknown route', async () => {
  const reply = await h.call('PATCH', vipPath('svc:a'), { token });
  expect([reply.status, reply.json]).toEqual([404, { message: 'not found' }]);
});

test('malformed percent-encoding is 400 JSON', async () => {
  const reply = await h.call('GET', '/api/v2/tailnet/-/vip-services/%E0%A4%A', { token });
  expect(reply.status).toBe(400);
  expect(reply.json).toEqual(jsonMessage);
});

test("unknown routes answer a JSON 404, or what Go's ServeMux answers when switched", async () => {
  const json = await h.call('GET', '/api/v2/unknown', { token });
  expect([json.status, json.json]).toEqual([404, { message: 'not found' }]);
  await h.admin.setCompat({ unknownRouteJson: false });
  try {
    const text = await h.call('GET', '/api/v2/unknown', { token });
    expect([text.status, text.text]).toEqual([404, '404 page not found\n']);
    const method = await h.call('PATCH', vipPath('svc:a'), { token });
    expect([method.status, method.text]).toEqual([405, 'Method Not Allowed\n']);
    expect(method.headers.get('allow')).toMatch(/GET/);
  } finally {
    await h.admin.setCompat({ unknownRouteJson: true });
  }
});

test('garbage on the socket and half-sent requests do not take the server down', async () => {
  const port = Number(new URL(h.url).port);
  const send = (payload: string, endEarly: boolean) =>
    new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(payload);
        if (endEarly) socket.destroy();
        else socket.end();
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.resume();
    });
  await send('NOT HTTP AT ALL\r\n\r\n', false);
  await send(
    'PUT /api/v2/tailnet/-/vip-services/svc:half HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"na',
    true,
  );
  await send(`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, false);
  await expectStillServing();
});

test('a seeded stream of random mutations of a valid body never yields a 5xx', async () => {
  const random = seededRandom(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const values: unknown[] = [
    null,
    true,
    0,
    -1,
    Number.MAX_VALUE,
    'x',
    '',
    [],
    {},
    ['tcp:443'],
    ['tag:a'],
    { a: 'b' },
    [null],
    '100.64.0.1',
  ];
  const fields = ['name', 'addrs', 'comment', 'annotations', 'ports', 'tags', 'displayName', 'extra'];
  for (let i = 0; i < 150; i++) {
    const body: Record<string, unknown> = { name: 'svc:fuzz' };
    for (let j = 0; j < 3; j++) body[pick(fields)] = pick(values);
    const reply = await h.call('PUT', vipPath('svc:fuzz'), { token, body });
    expect({ body, status: reply.status < 500 }).toEqual({ body, status: true });
    if (reply.status !== 200) expect(reply.json).toEqual(jsonMessage);
  }
  await expectStillServing();
});
