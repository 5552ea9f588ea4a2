import { re2Error, routePolicyProblems } from '../../api/v1alpha1/route-policy-validation';
import type { TailscaleRoutePolicySpec } from '../../api/v1alpha1/tailscale-route-policy';

const targetRefs: TailscaleRoutePolicySpec['targetRefs'] = [
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' },
];

describe('route policy validation (RE2, RFC 9110)', () => {
  it.each([
    ['(unclosed[(', 'missing ]: [('],
    ['(?<=x)a', 'invalid perl operator: (?<'],
    ['(?!x)', 'invalid perl operator: (?!'],
    ['/a/u: (?<=x)', 'invalid perl operator: (?<'],
    ['a{1001}', 'invalid repetition size: {1001}'],
    // JavaScript-only escapes RE2 rejects (re2-wasm would otherwise translate them).
    ['\\u0041', 'invalid escape sequence: \\u'],
    ['\\cA', 'invalid escape sequence: \\c'],
  ])('RE2 rejects %j', (pattern, error) => {
    expect(re2Error(pattern)).toBe(error);
  });

  it.each(['^/api/v[0-9]+/.*$', '(?i)bearer .+', '\\d+', '[[:alpha:]]+', '\\\\u', '(?P<v>x)'])(
    'RE2 accepts %j',
    (pattern) => {
      expect(re2Error(pattern)).toBeUndefined();
    },
  );

  it('names the field path and the kind of every problem', () => {
    const problems = routePolicyProblems({
      targetRefs,
      rules: [
        {
          matches: [
            { path: { type: 'RegularExpression', value: '(?<=x)' } },
            {
              headers: [
                { name: 'x-a', type: 'Exact', value: ' padded' },
                { name: 'x-b', type: 'RegularExpression', value: '[' },
              ],
            },
          ],
          action: { type: 'Deny' },
        },
        {
          requestHeaderModifier: { set: [{ name: 'x-c', value: 'a\nb' }], remove: ['bad name'] },
          responseHeaderModifier: { add: [{ name: 'x-d', value: 'nul\u0000' }] },
        },
      ],
    });
    expect(problems.map((p) => [p.kind, p.field])).toEqual([
      ['InvalidRegex', 'spec.rules[0].matches[0].path.value'],
      ['InvalidHeader', 'spec.rules[0].matches[1].headers[0].value'],
      ['InvalidRegex', 'spec.rules[0].matches[1].headers[1].value'],
      ['InvalidHeader', 'spec.rules[1].requestHeaderModifier.set[0].value'],
      ['InvalidHeader', 'spec.rules[1].requestHeaderModifier.remove[0]'],
      ['InvalidHeader', 'spec.rules[1].responseHeaderModifier.add[0].value'],
    ]);
    expect(problems[0]!.message).toBe(
      'spec.rules[0].matches[0].path.value: "(?<=x)" is not a valid RE2 regular expression: invalid perl operator: (?<',
    );
  });

  it('finds nothing wrong with a valid policy', () => {
    expect(
      routePolicyProblems({
        targetRefs,
        rules: [
          {
            matches: [{ headers: [{ name: 'x-env', type: 'Exact', value: 'a b\tc' }] }],
            requestHeaderModifier: { set: [{ name: 'x-empty', value: '' }] },
          },
        ],
      }),
    ).toEqual([]);
  });
});
