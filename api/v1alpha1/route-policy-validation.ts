/**
 * What a TailscaleRoutePolicy must satisfy before any of it may reach xDS, beyond what the CRD schema
 * can say: regular expressions must compile as RE2 (Envoy's `safe_regex` engine; checked with Google's
 * RE2 itself, compiled to WASM, never a JavaScript RegExp, whose syntax differs), and header names and
 * values must be what RFC 9110 allows. One invalid value anywhere would get the whole route
 * configuration of a shared Gateway rejected by Envoy, so the reconciler reports it (Accepted=False)
 * and the extension server drops the policy.
 */
import { RE2 } from 're2-wasm';
import {
  headerNamePattern,
  headerValuePattern,
  type TailscaleRoutePolicySpec,
} from './tailscale-route-policy';

/** Our entries in a policy's `status.ancestors` (Gateway API PolicyStatus is shared per controllerName). */
export const routePolicyControllerName = 'gateway.tailscale.com/tailscale-gateway-operator';

export type PolicyProblemKind = 'InvalidRegex' | 'InvalidHeader';

export interface PolicyProblem {
  kind: PolicyProblemKind;
  /** Where, as a field path: `spec.rules[0].matches[1].path.value`. */
  field: string;
  message: string;
}

const headerName = new RegExp(headerNamePattern);
const headerValue = new RegExp(headerValuePattern);

/** undefined when `pattern` compiles as RE2; otherwise RE2's own error text. */
export function re2Error(pattern: string): string | undefined {
  // re2-wasm rewrites \uXXXX and \cX into RE2 syntax first (JavaScript compatibility); RE2 itself,
  // as Envoy runs it, rejects both, so they are refused here before that rewrite can hide them.
  const jsOnly = /(?:^|[^\\])(?:\\\\)*(\\[uc])/.exec(pattern);
  if (jsOnly) return `invalid escape sequence: ${jsOnly[1]}`;
  try {
    new RE2(pattern, 'u');
    return undefined;
  } catch (err) {
    // "Invalid regular expression: /<pattern, its slashes escaped>/u: <RE2's error>"
    const text = (err as Error).message;
    const end = /^Invalid regular expression: \/.*?[^\\]\/u: /s.exec(text);
    return end ? text.slice(end[0].length) : text;
  }
}

const show = (value: string) => JSON.stringify(value);

/** Every problem of `spec`, in field order; empty when the policy is fit for xDS. */
export function routePolicyProblems(spec: TailscaleRoutePolicySpec): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const regex = (field: string, value: string) => {
    const error = re2Error(value);
    if (error)
      problems.push({
        kind: 'InvalidRegex',
        field,
        message: `${field}: ${show(value)} is not a valid RE2 regular expression: ${error}`,
      });
  };
  const name = (field: string, value: string) => {
    if (!headerName.test(value))
      problems.push({
        kind: 'InvalidHeader',
        field,
        message: `${field}: ${show(value)} is not an HTTP header name (RFC 9110 token)`,
      });
  };
  const value = (field: string, text: string) => {
    if (!headerValue.test(text))
      problems.push({
        kind: 'InvalidHeader',
        field,
        message: `${field}: ${show(text)} is not an HTTP header value (no control characters such as CR, LF or NUL, no leading or trailing whitespace)`,
      });
  };

  (spec.rules ?? []).forEach((rule, r) => {
    const at = `spec.rules[${r}]`;
    (rule.matches ?? []).forEach((match, m) => {
      const mat = `${at}.matches[${m}]`;
      if (match.path?.type === 'RegularExpression') regex(`${mat}.path.value`, match.path.value);
      (match.headers ?? []).forEach((header, h) => {
        name(`${mat}.headers[${h}].name`, header.name);
        if (header.type === 'RegularExpression') regex(`${mat}.headers[${h}].value`, header.value);
        else value(`${mat}.headers[${h}].value`, header.value);
      });
    });
    for (const side of ['requestHeaderModifier', 'responseHeaderModifier'] as const) {
      const modifier = rule[side];
      if (!modifier) continue;
      for (const op of ['set', 'add'] as const) {
        (modifier[op] ?? []).forEach((header, h) => {
          name(`${at}.${side}.${op}[${h}].name`, header.name);
          value(`${at}.${side}.${op}[${h}].value`, header.value);
        });
      }
      (modifier.remove ?? []).forEach((header, h) => name(`${at}.${side}.remove[${h}]`, header));
    }
  });
  return problems;
}
