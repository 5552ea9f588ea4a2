import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { chartValues, collectEnvVars, envVarsIn, renderDocs } from '../../tools/generate-docs';
import { repoRoot } from '../../runtime/paths';

describe('docs/ is generated from the code and the schema sources', () => {
  let rendered: Map<string, string>;
  beforeAll(() => {
    rendered = renderDocs();
  });

  it.each(['configuration.md', 'api-reference.md'])('docs/%s is up to date (run npm run docs)', (file) => {
    const path = join(repoRoot(), 'docs', file);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(rendered.get(file));
  });

  it('documents every variable the processes read', () => {
    const undocumented = collectEnvVars()
      .filter((v) => !v.description)
      .map((v) => `${v.name} (${[...v.sources].join(', ')})`);
    expect(undocumented).toEqual([]);
  });

  it('finds the variables of every process', () => {
    const names = collectEnvVars().map((v) => v.name);
    for (const name of [
      'KUBECONFIG',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_API_KEY',
      'TAILSCALE_API_BASE_URL',
      'HEALTH_ADDRESS',
      'LOG_LEVEL',
      'EXTENSION_GRPC_ADDRESS',
      'EXTENSION_MAX_MESSAGE_BYTES',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('maps chart values that exist in deploy/chart/values.yaml onto variables that exist', () => {
    const values = parse(readFileSync(join(repoRoot(), 'deploy', 'chart', 'values.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const names = new Set(collectEnvVars().map((v) => v.name));
    const lookup = (path: string) =>
      path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], values);
    for (const [variable, paths] of Object.entries(chartValues)) {
      expect(names).toContain(variable);
      const first = paths.split(',')[0]?.trim() ?? '';
      expect([variable, lookup(first)]).not.toEqual([variable, undefined]);
    }
  });

  describe('the variable finder', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'tsgw-docs-'));
      mkdirSync(join(root, 'runtime'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('reads helper calls, their defaults and the doc comment of the member they fill', () => {
      writeFileSync(
        join(root, 'runtime', 'x.ts'),
        [
          'interface C {',
          '  /** How often to frobnicate. */',
          '  frobMs: number;',
          '  plain: string;',
          '}',
          "const load = (env: Env): C => ({ frobMs: seconds(env, 'FROB_SECONDS', 30) * 1000,",
          "  plain: value(env, 'PLAIN') ?? 'x' });",
          'const level = process.env.SOME_LEVEL;',
        ].join('\n'),
      );
      expect(envVarsIn('runtime/x.ts', root)).toEqual([
        { name: 'FROB_SECONDS', default: '30', description: 'How often to frobnicate.' },
        { name: 'PLAIN', default: "'x'", description: undefined },
        { name: 'SOME_LEVEL', default: undefined, description: undefined },
      ]);
    });
  });
});
