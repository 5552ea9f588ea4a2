/**
 * No client secret, access token or auth key reaches a log line or an error. The client logs through
 * a recorder that does NOT redact, so this proves the client never hands a secret to its logger, not
 * merely that runtime/logger's redaction caught it.
 */
import type { LogFields, Logger } from '../../../runtime/logger';
import { TailscaleClient } from '../../../activities/tailscale/client';
import { listDevices } from '../../../activities/tailscale/devices';
import { toActivityFailure } from '../../../activities/tailscale/errors';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { getVipService, listVipServices, putVipService } from '../../../activities/tailscale/vip-services';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';

function recordingLogger(lines: string[], base: LogFields = {}): Logger {
  const emit = (level: string) => (msg: string, fields?: LogFields) =>
    lines.push(JSON.stringify({ level, msg, ...base, ...fields }));
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => recordingLogger(lines, { ...base, ...fields }),
  };
}

function errorTexts(err: unknown): string[] {
  const e = err as Error;
  const failure = toActivityFailure(err);
  return [
    String(e),
    e.message,
    e.stack ?? '',
    JSON.stringify(e),
    failure.message,
    JSON.stringify(failure.details),
    failure.stack ?? '',
  ];
}

let h: SimHarness;
beforeAll(async () => {
  h = await startSim();
  await h.device('taken');
});
afterAll(() => h.close());

test('logs and errors across success, refresh and failure paths never contain a secret', async () => {
  const lines: string[] = [];
  const texts: string[] = [];
  const capture = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      texts.push(...errorTexts(err));
    }
  };

  const credentials = await h.admin.createOAuthClient({
    scopes: ['services', 'devices:core', 'auth_keys'],
    tags: ['tag:k8s'],
  });
  const client = new TailscaleClient({
    clientId: credentials.id,
    clientSecret: credentials.secret,
    baseUrl: h.url,
    logger: recordingLogger(lines),
    requestTimeoutMs: 300,
  });

  const key = await createAuthKey(client, { tags: ['tag:k8s'], preauthorized: true });
  await listVipServices(client);
  await putVipService(client, { name: 'svc:secretless', comment: 'x' });
  await h.admin.expireTokens(); // forces the 401-then-refresh path
  await listDevices(client);

  await capture(() => getVipService(client, 'svc:taken'));
  await capture(() => putVipService(client, { name: 'svc:secretless', comment: 'no addrs' }));
  for (const fault of [
    { kind: 'error' as const, status: 429, retryAfterSeconds: 3 },
    { kind: 'error' as const, status: 500 },
    { kind: 'reset' as const },
    { kind: 'latency' as const, latencyMs: 1_000 },
  ]) {
    await h.admin.addFault({ ...fault, path: '/api/v2/tailnet/-/devices', count: 1 });
    await capture(() => listDevices(client));
    await h.admin.clearFaults();
  }
  await h.admin.addFault({
    kind: 'error',
    status: 401,
    message: `leaked ${key.key}`,
    path: '/api/v2/tailnet/-/devices',
    count: 2,
  });
  await capture(() => listDevices(client));
  await h.admin.clearFaults();

  const wrong = new TailscaleClient({
    clientId: credentials.id,
    clientSecret: `${credentials.secret}-bad`,
    baseUrl: h.url,
    logger: recordingLogger(lines),
  });
  await capture(() => listVipServices(wrong));

  const secrets = [
    credentials.secret,
    `${credentials.secret}-bad`,
    key.key,
    ...(await h.admin.dumpState()).tokens.map((t) => t.token),
  ];
  expect(secrets.length).toBeGreaterThanOrEqual(5);
  // Non-vacuous: the paths above did log and did fail.
  expect(lines.length).toBeGreaterThanOrEqual(10);
  expect(lines.some((line) => line.includes('fetched tailscale access token'))).toBe(true);
  expect(lines.some((line) => line.includes('token rejected'))).toBe(true);
  expect(texts.length).toBeGreaterThanOrEqual(7 * 7);

  for (const secret of secrets) {
    for (const text of [...lines, ...texts]) {
      if (text.includes(secret)) throw new Error(`secret leaked into: ${text.slice(0, 200)}`);
    }
  }
});
