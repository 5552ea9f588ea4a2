/**
 * Preloaded into an operator process to profile it under a benchmark's load (`--cpu-prof` is not
 * allowed in NODE_OPTIONS, `--require` is):
 *   TSGW_BENCH_OPERATOR_NODE_OPTIONS="--require $PWD/dist/bench/support/cpu-profile.js" \
 *   TSGW_CPU_PROFILE_DIR=/tmp/prof node dist/bench/cold-convergence.js
 * writes <dir>/<pid>.cpuprofile when the process exits (open it in Chrome DevTools or speedscope).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.TSGW_CPU_PROFILE_DIR ?? '/tmp';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
process.once('exit', () => {
  // The in-process inspector answers synchronously, so this completes inside the exit handler.
  session.post('Profiler.stop', (err, result) => {
    if (err) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
