import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { workflowBundleFile } from '../../tools/bundle-workflows';
import { loadHistoryFile, replayHistory } from '../../tools/replay';

// Histories recorded from real runs (TSGW_RECORD_HISTORIES=1 npm test); any change to workflow code
// that would break a running workflow fails here. Such changes need patched()/versioning instead.
const historyFiles = readdirSync(__dirname, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(__dirname, d.name))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(d.name, f)),
  );

describe('replay of recorded workflow histories against the current workflow code', () => {
  beforeAll(() => {
    if (!existsSync(workflowBundleFile)) throw new Error(`${workflowBundleFile} missing: run npm run build`);
  });

  it('has recorded histories to replay', () => {
    expect(historyFiles.length).toBeGreaterThan(0);
  });

  it.each(historyFiles)('%s replays deterministically', async (file) => {
    const outcome = await replayHistory(loadHistoryFile(join(__dirname, file)), file);
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    expect(outcome.eventCount).toBeGreaterThan(5);
  });
});
