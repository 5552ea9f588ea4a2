import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crdDir, renderCrds } from '../../tools/generate-crds';

describe('deploy/crds is generated from the schema sources in api/v1alpha1', () => {
  const rendered = renderCrds();

  it.each([...rendered.keys()])('%s is up to date (run node dist/tools/generate-crds.js)', (file) => {
    const path = join(crdDir(), file);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(rendered.get(file));
  });

  it('holds no CRD file that the schema sources no longer define', () => {
    const committed = readdirSync(crdDir()).filter((f) => f.endsWith('.yaml'));
    expect(committed.sort()).toEqual([...rendered.keys()].sort());
  });
});
