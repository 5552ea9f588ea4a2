import { conditionsSchema, tagSchema } from '../common';
import { defineCrd, type ObjectOfCrd } from '../crd';
import { s, type Infer } from '../schema';

/** RFC 9110 §5.6.2 token (a field name). */
export const headerNamePattern = "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$";
/**
 * RFC 9110 §5.5 field value: visible characters, with spaces and tabs only between them, so no CR, LF,
 * NUL or other control character, and no leading or trailing whitespace; empty is allowed. Valid both
 * for the API server (Go RE2, in the CRD's `pattern`) and JavaScript.
 */
export const headerValuePattern =
  '^([^\\x00-\\x20\\x7f]([^\\x00-\\x08\\x0a-\\x1f\\x7f]*[^\\x00-\\x20\\x7f])?)?$';

/** A path Envoy may put in a Location header or a rewrite: starts with /, no whitespace or controls. */
const urlPathPattern = '^/[^\\x00-\\x20\\x7f]*$';

const headerNameSchema = s.string({ pattern: headerNamePattern, minLength: 1, maxLength: 256 });
const headerValueSchema = s.string({
  description: 'An HTTP header value (RFC 9110): no control characters, no leading or trailing whitespace.',
  pattern: headerValuePattern,
  maxLength: 4096,
});
const headerValuesSchema = s.array(s.object({ name: headerNameSchema, value: headerValueSchema }), {
  maxItems: 16,
});

const headerModifierSchema = s.object({
  set: s.optional(headerValuesSchema),
  add: s.optional(headerValuesSchema),
  remove: s.optional(s.array(headerNameSchema, { maxItems: 16 })),
});

const matchSchema = s.object(
  {
    path: s.optional(
      s.object({
        type: s.enum(['PathPrefix', 'Exact', 'RegularExpression'] as const, { default: 'PathPrefix' }),
        value: s.string({ minLength: 1, maxLength: 1024 }),
      }),
    ),
    headers: s.optional(
      s.array(
        s.object({
          name: headerNameSchema,
          type: s.enum(['Exact', 'RegularExpression'] as const, { default: 'Exact' }),
          // A CEL rule telling Exact from RegularExpression costs more than the API server's budget, so
          // admission refuses only control characters; whitespace padding and RE2 are checked when reconciled.
          value: s.string({
            description:
              'The header value (Exact), or an RE2 regular expression; no control characters such as CR, LF or NUL.',
            pattern: '^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$',
            maxLength: 4096,
          }),
        }),
        { maxItems: 16 },
      ),
    ),
    method: s.optional(
      s.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const),
    ),
    tailnetDeviceTags: s.optional(
      s.array(tagSchema, {
        description:
          'All of these ACL tags must be on the calling device (read from the tailscale-device-tags header the tailnet ingress proxies set).',
        maxItems: 8,
      }),
    ),
  },
  {
    description: 'All conditions of one match must hold.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.path) || has(self.headers) || has(self.method) || has(self.tailnetDeviceTags)',
        message: 'a match needs at least one of path, headers, method, tailnetDeviceTags',
      },
      {
        rule: "!has(self.path) || self.path.type == 'RegularExpression' || self.path.value.startsWith('/')",
        message: 'path.value must start with / unless it is a RegularExpression',
      },
    ],
  },
);

const actionSchema = s.object(
  {
    type: s.enum(['Route', 'Redirect', 'Deny'] as const),
    route: s.optional(
      s.object({
        backendRef: s.object({
          kind: s.enum(['TailscaleServices', 'TailscaleEndpoints'] as const),
          name: s.string({ minLength: 1, maxLength: 253 }),
        }),
        rewritePrefix: s.optional(s.string({ pattern: urlPathPattern, maxLength: 256 })),
      }),
    ),
    redirect: s.optional(
      s.object({
        scheme: s.optional(s.enum(['http', 'https'] as const)),
        hostname: s.optional(
          s.string({ pattern: '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$', maxLength: 253 }),
        ),
        port: s.optional(s.integer({ minimum: 1, maximum: 65535 })),
        path: s.optional(s.string({ pattern: urlPathPattern, maxLength: 1024 })),
        statusCode: s.optional(s.integer({ default: 302, minimum: 301, maximum: 308 })),
      }),
    ),
    deny: s.optional(
      s.object({
        statusCode: s.optional(s.integer({ default: 403, minimum: 400, maximum: 599 })),
        body: s.optional(s.string({ maxLength: 4096 })),
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: "(self.type == 'Route') == has(self.route)",
        message: 'route is required for type Route, and only then',
      },
      {
        rule: "self.type == 'Redirect' || !has(self.redirect)",
        message: 'redirect is only for type Redirect',
      },
      { rule: "self.type == 'Deny' || !has(self.deny)", message: 'deny is only for type Deny' },
      {
        rule: '!has(self.redirect) || !has(self.redirect.statusCode) || self.redirect.statusCode in [301, 302, 303, 307, 308]',
        message: 'redirect.statusCode must be 301, 302, 303, 307 or 308',
      },
    ],
  },
);

const ruleSchema = s.object(
  {
    matches: s.optional(
      s.array(matchSchema, {
        description: 'The rule applies when any match holds; without matches it applies to every request.',
        maxItems: 8,
      }),
    ),
    action: s.optional(actionSchema),
    requestHeaderModifier: s.optional(headerModifierSchema),
    responseHeaderModifier: s.optional(headerModifierSchema),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: 'has(self.action) || has(self.requestHeaderModifier) || has(self.responseHeaderModifier)',
        message: 'a rule needs an action or a header modifier',
      },
    ],
  },
);

export const tailscaleRoutePolicySpecSchema = s.object({
  targetRefs: s.array(
    s.object({
      group: s.enum(['gateway.networking.k8s.io'] as const),
      kind: s.enum(['Gateway', 'HTTPRoute', 'GRPCRoute'] as const),
      name: s.string({ minLength: 1, maxLength: 253 }),
    }),
    { description: 'Gateway API policy attachment: objects in this namespace.', minItems: 1, maxItems: 16 },
  ),
  rules: s.array(ruleSchema, {
    description: 'Evaluated in order; the first matching action wins.',
    minItems: 1,
    maxItems: 32,
  }),
});

export const tailscaleRoutePolicyStatusSchema = s.object({
  ancestors: s.optional(
    s.array(
      s.object({
        ancestorRef: s.object({
          group: s.string(),
          kind: s.string(),
          name: s.string(),
          namespace: s.optional(s.string()),
        }),
        controllerName: s.string(),
        conditions: s.optional(conditionsSchema),
      }),
      { description: 'Gateway API PolicyStatus: Accepted / Conflicted per target.', maxItems: 16 },
    ),
  ),
});

export type TailscaleRoutePolicySpec = Infer<typeof tailscaleRoutePolicySpecSchema>;
export type TailscaleRoutePolicyStatus = Infer<typeof tailscaleRoutePolicyStatusSchema>;

export const tailscaleRoutePolicyCrd = defineCrd({
  kind: 'TailscaleRoutePolicy',
  plural: 'tailscaleroutepolicies',
  singular: 'tailscaleroutepolicy',
  shortNames: ['tsrp'],
  scope: 'Namespaced',
  description:
    'Match conditions and actions (route to a Tailscale backend, redirect, deny, header changes) the extension server applies to the routes of its targets.',
  spec: tailscaleRoutePolicySpecSchema,
  status: tailscaleRoutePolicyStatusSchema,
  printerColumns: [
    // A column shows one JSONPath result (the API server's table convertor takes the first): the
    // whole list is one value, printed as JSON.
    {
      name: 'Targets',
      type: 'string',
      jsonPath: '.spec.targetRefs',
      description: 'Every target (group, kind, name).',
    },
    {
      name: 'Accepted',
      type: 'string',
      jsonPath: '.status.ancestors[*].conditions[?(@.type=="Accepted")].status',
      description: 'Accepted on the first target; kubectl describe shows each target.',
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});

export type TailscaleRoutePolicy = ObjectOfCrd<typeof tailscaleRoutePolicyCrd>;
