/**
 * The README's Temporal UI tour explains every `outcome` the VIP workflow's memo can show. The outcomes
 * are read from the activity result types with the TypeScript compiler, so a new one fails here until
 * it is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from '../../runtime/paths';

function outcomesOf(file: string, interfaces: string[]): string[] {
  // The unions are declared in the file itself: nothing else needs resolving.
  const program = ts.createProgram([file], { strict: true, noEmit: true, noResolve: true, noLib: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} not found`);
  const out: string[] = [];
  ts.forEachChild(source, (node) => {
    if (!ts.isInterfaceDeclaration(node) || !interfaces.includes(node.name.text)) return;
    const outcome = checker.getTypeAtLocation(node).getProperty('outcome');
    if (!outcome) throw new Error(`${node.name.text} has no outcome`);
    const type = checker.getTypeOfSymbolAtLocation(outcome, node);
    for (const t of type.isUnion() ? type.types : [type]) {
      if (!t.isStringLiteral()) throw new Error(`${node.name.text}.outcome is not a union of literals`);
      out.push(t.value);
    }
  });
  return [...new Set(out)].sort();
}

describe('README: the VIP memo', () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const documented = new Set([...readme.matchAll(/^\s*\| `(\w+)`\s+\|/gm)].map((m) => m[1]));

  it('documents every outcome an attach or detach returns, and Error', () => {
    const outcomes = outcomesOf(join(repoRoot(), 'activities', 'vip', 'lifecycle.ts'), [
      'AttachResult',
      'DetachResult',
    ]);
    // Both unions are read, not assumed: a type that widened to string would throw above.
    expect(outcomes).toEqual(expect.arrayContaining(['Created', 'Deleted']));
    expect([...outcomes, 'Error'].filter((o) => !documented.has(o))).toEqual([]);
  });

  it('names the count of attached operators and the local consumers the workflow writes', () => {
    const workflow = readFileSync(join(repoRoot(), 'workflows', 'vip-service.ts'), 'utf8');
    const memo = /upsertMemo\(\{([\s\S]*?)\}\);/.exec(workflow)?.[1] ?? '';
    const keys = [...memo.matchAll(/^\s*(\w+):/gm)].map((m) => m[1]!);
    expect(keys).toEqual(expect.arrayContaining(['operatorsAttached', 'localConsumers', 'outcome']));
    for (const key of keys) expect(readme).toContain(`\`${key}\``);
  });
});
