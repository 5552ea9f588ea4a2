/**
 * Runs the simulator as a process:
 *   node dist/simulators/tailscale/main.js [--port N] [--host H] [--state-file F] [--dns-suffix S] [--seed N]
 * Prints one JSON line `{"url":...,"adminUrl":...}` once listening; loads the state file at start
 * when it exists and saves it on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startTailscaleSimulator } from './server';
import { readStateFile, saveStateFile, type StateDump } from './state';

export interface SimulatorMainOptions {
  host?: string;
  port?: number;
  stateFile?: string;
  dnsSuffix?: string;
  seed?: number;
}

export function parseSimulatorArgs(argv: readonly string[]): SimulatorMainOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'state-file': { type: 'string' },
      'dns-suffix': { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`invalid --port ${values.port}`);
  }
  return {
    ...(port !== undefined ? { port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['state-file'] !== undefined ? { stateFile: values['state-file'] } : {}),
    ...(values['dns-suffix'] !== undefined ? { dnsSuffix: values['dns-suffix'] } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
  };
}

export interface RunningSimulator {
  url: string;
  /** Saves the state file (when configured) and stops the server. */
  shutdown(): Promise<void>;
}

export async function runSimulatorMain(
  argv: readonly string[],
  writeLine: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Promise<RunningSimulator> {
  const options = parseSimulatorArgs(argv);
  const state =
    options.stateFile !== undefined && existsSync(options.stateFile)
      ? ((await readStateFile(options.stateFile)) as StateDump)
      : undefined;
  const simulator = await startTailscaleSimulator({
    host: options.host,
    port: options.port,
    dnsSuffix: state ? undefined : options.dnsSuffix,
    seed: options.seed,
    state,
  });
  writeLine(JSON.stringify({ url: simulator.url, adminUrl: `${simulator.url}/__admin` }));
  return {
    url: simulator.url,
    shutdown: async () => {
      if (options.stateFile !== undefined)
        await saveStateFile(options.stateFile, await simulator.admin.dumpState());
      await simulator.close();
    },
  };
}

if (require.main === module) {
  runSimulatorMain(process.argv.slice(2)).then(
    (running) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        running.shutdown().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`tailscale simulator: shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`tailscale simulator: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
