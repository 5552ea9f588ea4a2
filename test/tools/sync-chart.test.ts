import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartDir, renderChartCopies, staleChartFiles } from '../../tools/sync-chart';
import { renderCrds } from '../../tools/generate-crds';
import { repoRoot } from '../../runtime/paths';

describe("the chart's copies (crds/, files/) come from their single sources", () => {
  it('is up to date (run npm run chart:sync)', () => {
    expect(staleChartFiles()).toEqual([]);
  });

  it('ships exactly the CRDs the schema sources define', () => {
    const crds = [...renderChartCopies().keys()].filter((f) => f.startsWith('crds/'));
    expect(crds.sort()).toEqual([...renderCrds().keys()].map((f) => `crds/${f}`).sort());
  });

  it('carries the Envoy Gateway block and rules of deploy/envoy-gateway verbatim', () => {
    const copy = readFileSync(join(chartDir(), 'files', 'extension-manager.yaml'), 'utf8');
    const source = readFileSync(
      join(repoRoot(), 'deploy', 'envoy-gateway', 'extension-manager.yaml'),
      'utf8',
    );
    expect(copy.endsWith(source)).toBe(true);
  });

  describe('in a scratch copy of the repository', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'tsgw-chart-'));
      cpSync(join(repoRoot(), 'deploy'), join(root, 'deploy'), { recursive: true });
      // Start in sync whatever the working tree holds, so each case sees only its own change.
      for (const [rel, content] of renderChartCopies(root)) writeFileSync(join(chartDir(root), rel), content);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('detects a hand-edited CRD copy', () => {
      const file = join(root, 'deploy', 'chart', 'crds', [...renderCrds().keys()][0] ?? '');
      writeFileSync(file, readFileSync(file, 'utf8') + '# edited\n');
      expect(staleChartFiles(root)).toHaveLength(1);
    });

    it('detects a change to deploy/envoy-gateway that was not synced', () => {
      const source = join(root, 'deploy', 'envoy-gateway', 'extension-manager.yaml');
      writeFileSync(source, readFileSync(source, 'utf8').replace('failOpen: false', 'failOpen: true'));
      expect(staleChartFiles(root)).toEqual(['files/extension-manager.yaml']);
    });

    it('detects a CRD file the schema sources no longer define', () => {
      writeFileSync(join(root, 'deploy', 'chart', 'crds', 'gateway.tailscale.com_gone.yaml'), 'x: 1\n');
      expect(staleChartFiles(root)).toEqual(['crds/gateway.tailscale.com_gone.yaml']);
    });
  });
});
