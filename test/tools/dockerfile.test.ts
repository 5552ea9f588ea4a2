import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/paths';

// No container engine here, so the image is never built in CI; these checks keep deploy/Dockerfile in step
// with the sources it compiles and with the commands the chart runs.
describe('deploy/Dockerfile', () => {
  const root = repoRoot();
  const dockerfile = readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8');

  it('copies every source directory the build compiles', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const missing = tsconfig.include
      .filter((dir) => dir !== 'test' && existsSync(join(root, dir)))
      .filter((dir) => !dockerfile.includes(`COPY ${dir}/ ${dir}/`));
    expect(missing).toEqual([]);
  });

  it('ships what the processes read at run time: package.json (the app root), proto/, dist/', () => {
    for (const line of [
      'COPY --from=build /src/package.json ./',
      'COPY --from=build /src/dist/ dist/',
      'COPY --from=build /src/proto/ proto/',
    ]) {
      expect(dockerfile).toContain(line);
    }
    expect(dockerfile).toContain('node dist/tools/bundle-workflows.js');
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
  });

  it('builds every command the chart runs', () => {
    const templates = ['worker.yaml', 'watchers.yaml', 'extension.yaml', 'search-attributes-job.yaml'].map(
      (f) => readFileSync(join(root, 'deploy', 'chart', 'templates', f), 'utf8'),
    );
    const commands = templates.flatMap((t) =>
      [...t.matchAll(/command: \[node, (dist\/[^\]]+\.js)\]/g)].map((m) => m[1]),
    );
    expect(commands).toHaveLength(4);
    for (const js of commands) {
      const source = (js ?? '').replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect([js, existsSync(join(root, source))]).toEqual([js, true]);
    }
  });
});
