/**
 * Runs the simulator as a process:
 *   node dist/simulators/tailscale/main.js [--port N] [--host H] [--state-file F] [--dns-suffix S] [--seed N]
 * Prints one JSON line `{"url":...,"adminUrl":...}` once listening; loads the state file at start
 * when it exists and saves it on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
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
  const options: SimulatorMainOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    switch (flag) {
      case '--port':
        options.port = Number(value);
        if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
          throw new Error(`invalid --port ${value}`);
        }
        break;
      case '--host':
        options.host = value;
        break;
      case '--state-file':
        options.stateFile = value;
        break;
      case '--dns-suffix':
        options.dnsSuffix = value;
        break;
      case '--seed':
        options.seed = Number(value);
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
    i++;
  }
  return options;
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
