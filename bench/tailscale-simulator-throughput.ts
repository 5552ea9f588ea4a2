/**
 * Throughput of the Tailscale simulator for VIP service GET and PUT over loopback, against the
 * target of 2,000 requests/s, so it never bottlenecks the operator's own benchmarks.
 *
 *   npm run build && node dist/bench/tailscale-simulator-throughput.js \
 *     [--concurrency 4] [--duration-ms 5000] [--max-requests 40000] [--in-process]
 *
 * By default the simulator runs as its own process (dist/simulators/tailscale/main.js), as it does in
 * the local stack; `--in-process` shares this process's event loop with the load generator instead.
 * Each phase stops at whichever comes first, the duration or the request count.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { HttpSimulatorAdmin } from '../simulators/tailscale/admin-client';
import type { TailscaleSimulatorAdmin } from '../simulators/tailscale/admin';
import { startTailscaleSimulator } from '../simulators/tailscale/server';

const targetRequestsPerSecond = 2_000;

interface Options {
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  inProcess: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      concurrency: { type: 'string', default: '4' },
      'duration-ms': { type: 'string', default: '5000' },
      'max-requests': { type: 'string', default: '40000' },
      'in-process': { type: 'boolean', default: false },
    },
  });
  const positive = (flag: 'concurrency' | 'duration-ms' | 'max-requests') => {
    const n = Number(values[flag]);
    if (!(n > 0)) throw new Error(`--${flag} needs a positive number, got ${values[flag]}`);
    return n;
  };
  return {
    concurrency: positive('concurrency'),
    durationMs: positive('duration-ms'),
    maxRequests: positive('max-requests'),
    inProcess: values['in-process'],
  };
}

interface Simulator {
  url: string;
  admin: TailscaleSimulatorAdmin;
  mode: string;
  stop(): Promise<void>;
}

async function startSimulator(inProcess: boolean): Promise<Simulator> {
  const mainJs = join(__dirname, '..', 'simulators', 'tailscale', 'main.js');
  if (inProcess || !existsSync(mainJs)) {
    const simulator = await startTailscaleSimulator();
    return { url: simulator.url, admin: simulator.admin, mode: 'in-process', stop: () => simulator.close() };
  }
  const child: ChildProcess = spawn(process.execPath, [mainJs, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited early (${code})`)));
  });
  const { url } = JSON.parse(firstLine) as { url: string };
  return {
    url,
    admin: new HttpSimulatorAdmin(url),
    mode: 'separate process',
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface PhaseResult {
  name: string;
  requests: number;
  failures: number;
  elapsedMs: number;
  latenciesMs: number[];
}

function send(
  agent: Agent,
  url: URL,
  method: string,
  path: string,
  token: string,
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function runPhase(
  name: string,
  options: Options,
  requestFor: (worker: number, iteration: number) => Promise<number>,
): Promise<PhaseResult> {
  const result: PhaseResult = { name, requests: 0, failures: 0, elapsedMs: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async (id: number) => {
    for (let i = 0; performance.now() < deadline && result.requests < options.maxRequests; i++) {
      result.requests++;
      const t0 = performance.now();
      const status = await requestFor(id, i).catch(() => 0);
      result.latenciesMs.push(performance.now() - t0);
      if (status !== 200) result.failures++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  result.elapsedMs = performance.now() - started;
  return result;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function printTable(results: PhaseResult[], options: Options, mode: string): void {
  console.log(
    `\nTailscale simulator throughput (${mode}, ${options.concurrency} concurrent clients, keep-alive)\n`,
  );
  const header = ['phase', 'requests', 'failures', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'vs 2,000 req/s'];
  const rows = results.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const rate = r.requests / (r.elapsedMs / 1000);
    return [
      r.name,
      String(r.requests),
      String(r.failures),
      (r.elapsedMs / 1000).toFixed(2),
      rate.toFixed(0),
      percentile(sorted, 50).toFixed(2),
      percentile(sorted, 99).toFixed(2),
      `${(rate / targetRequestsPerSecond).toFixed(2)}x ${rate >= targetRequestsPerSecond ? 'OK' : 'BELOW TARGET'}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const simulator = await startSimulator(options.inProcess);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const url = new URL(simulator.url);
    const oauth = await simulator.admin.createOAuthClient({ scopes: ['services'] });
    const tokenReply = await fetch(`${simulator.url}/api/v2/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: oauth.id, client_secret: oauth.secret }),
    });
    const { access_token: token } = (await tokenReply.json()) as { access_token: string };

    // One service per client, so PUTs are updates (the operator's steady state), not creates.
    const addrs: string[][] = [];
    for (let i = 0; i < options.concurrency; i++) {
      const reply = await fetch(`${simulator.url}/api/v2/tailnet/-/vip-services/svc:bench-${i}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `svc:bench-${i}`, ports: ['tcp:443'], tags: ['tag:bench'] }),
      });
      addrs.push(((await reply.json()) as { addrs: string[] }).addrs);
    }
    await simulator.admin.resetRequestCounts();

    const path = (worker: number) => `/api/v2/tailnet/-/vip-services/svc:bench-${worker}`;
    const results = [
      await runPhase('GET vip-service', options, (worker) => send(agent, url, 'GET', path(worker), token)),
      await runPhase('PUT vip-service', options, (worker, i) =>
        send(
          agent,
          url,
          'PUT',
          path(worker),
          token,
          JSON.stringify({
            name: `svc:bench-${worker}`,
            addrs: addrs[worker],
            comment: `update ${i}`,
            annotations: { 'gateway.tailscale.com/last-updated': new Date().toISOString() },
            ports: ['tcp:443'],
            tags: ['tag:bench'],
          }),
        ),
      ),
    ];
    printTable(results, options, simulator.mode);

    const counts = await simulator.admin.requestCounts();
    const sent = results.reduce((sum, r) => sum + r.requests, 0);
    console.log(`\nsimulator counted ${counts.total} requests (${counts.writes} writes) of ${sent} sent`);
  } finally {
    agent.destroy();
    await simulator.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
