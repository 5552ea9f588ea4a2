/**
 * Writes the configuration reference from its sources, so the docs cannot drift from the code:
 *   docs/configuration.md  every environment variable the processes read (found in the code that reads
 *                          it: runtime/config.ts, extension/config.ts, ...) and the chart value behind it
 *   docs/api-reference.md  every field of every CRD (from the schema sources in api/v1alpha1)
 * With --check it writes nothing and exits 1 when a file is stale (a unit test does the same).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ts from 'typescript';
import { crdManifest, type CrdDefinition } from '../api/crd';
import type { JsonSchema } from '../api/schema';
import { allCrds } from '../api/v1alpha1';
import { repoRoot } from '../runtime/paths';

export interface EnvVar {
  name: string;
  /** Source text of the default, or undefined when there is none. */
  default: string | undefined;
  description: string | undefined;
  processes: Set<string>;
  sources: Set<string>;
}

/** Where environment variables are read, and by which processes. */
export const envSources: { file: string; processes: string[] }[] = [
  { file: 'runtime/config.ts', processes: ['worker', 'watchers'] },
  { file: 'runtime/health-server.ts', processes: ['worker', 'watchers'] },
  { file: 'runtime/logger.ts', processes: ['worker', 'watchers', 'extension'] },
  { file: 'extension/config.ts', processes: ['extension'] },
  { file: 'watchers/config.ts', processes: ['watchers'] },
];

/**
 * Words for the variables whose reading code carries no doc comment of its own, and for defaults that
 * are expressions. A variable found in the code with neither a doc comment nor an entry here fails the
 * docs test, so a new variable cannot go undocumented.
 */
const descriptions: Record<string, string> = {
  TEMPORAL_ADDRESS: 'host:port of the Temporal frontend.',
  TEMPORAL_NAMESPACE: 'Temporal namespace of the workflows.',
  TEMPORAL_TASK_QUEUE: 'Task queue of the workflows and activities; the worker polls it.',
  TEMPORAL_TLS_CERT: 'mTLS client certificate (PEM file); needs TEMPORAL_TLS_KEY.',
  TEMPORAL_TLS_KEY: 'mTLS client key (PEM file); needs TEMPORAL_TLS_CERT.',
  TEMPORAL_API_KEY: 'API key (Temporal Cloud); implies TLS. From a Secret, never a literal.',
  OPERATOR_ID:
    "This operator's id in VIP service registries and auth-key descriptions shared by several installs (a DNS label).",
  CLUSTER_ID: "This cluster's id in VIP service registries (a DNS label).",
  OPERATOR_NAMESPACE: 'The namespace the operator is installed in (the chart sets it from the downward API).',
  RELEASE_NAME:
    'The Helm release name; with the namespace it derives the operator id and the install instance.',
  TAILSCALE_API_BASE_URL: 'The Tailscale API (the simulator locally).',
  LOG_LEVEL: '`debug`, `info`, `warn` or `error`; logs are JSON lines with secrets redacted.',
  HEALTH_ADDRESS: 'host:port of the probe server (`/healthz`, `/ready`); unset: no server.',
  EXTENSION_MAX_MESSAGE_BYTES: "Largest gRPC request accepted; at least Envoy Gateway's `maxMessageSize`.",
  CLUSTER_DOMAIN: 'Cluster DNS domain, for the DNS names of proxy pods.',
  TEMPORAL_WORKER_DEPLOYMENT_NAME:
    'Worker Versioning: the Worker Deployment this worker polls as a version of; needs TEMPORAL_WORKER_BUILD_ID. Unset: unversioned (docs/worker-versioning.md).',
  TEMPORAL_WORKER_BUILD_ID:
    "Worker Versioning: this worker's build ID in its Worker Deployment (the chart: the image tag); needs TEMPORAL_WORKER_DEPLOYMENT_NAME.",
  LEADER_ELECTION_NAMESPACE:
    'Namespace of the Lease the watcher replicas compete for; unset: no leader election, this process runs alone.',
  EXTENSION_GRPC_ADDRESS:
    'host:port of the gRPC server for Envoy Gateway; wins over POD_IP and EXTENSION_GRPC_PORT.',
  POD_IP:
    "The pod's IP (downward API); the gRPC server listens on it alone, so only the pod network reaches it.",
  EXTENSION_GRPC_PORT: 'Port of the gRPC server when EXTENSION_GRPC_ADDRESS is unset.',
  EXTENSION_MAX_CONCURRENT_CALLS:
    'Hook calls running at once; each holds its request (up to EXTENSION_MAX_MESSAGE_BYTES), a copy and its answer. With EXTENSION_MAX_MESSAGE_BYTES it bounds RSS.',
  EXTENSION_MAX_QUEUED_CALLS:
    'Calls waiting for a slot, their bodies not read yet (HTTP/2 flow control holds them back); more are answered RESOURCE_EXHAUSTED.',
  EXTENSION_TLS_CERT_FILE:
    'Server certificate (PEM file) presented to Envoy Gateway; with EXTENSION_TLS_KEY_FILE. Unset: plaintext gRPC. Re-read when the file changes.',
  EXTENSION_TLS_KEY_FILE: "The server certificate's private key (PEM file).",
  EXTENSION_TLS_CLIENT_CA_FILE:
    'CA bundle (PEM file); set: mutual TLS, a client without a certificate this CA signed is refused at the handshake.',
  EXTENSION_HEALTH_WINDOW_SECONDS:
    'Window of the `/health` rule "degraded when more than 10% of hooks failed".',
};

const defaults: Record<string, string> = {
  KUBECONFIG: 'in-cluster credentials',
  TEMPORAL_TLS: 'true when a client certificate or API key is set',
  EXTENSION_INDEX_STALE_SECONDS: '2 × resync interval + 60',
  LOG_LEVEL: 'info',
  WATCH_NAMESPACES: 'all namespaces',
  PROXY_ALLOWED_TAGS: 'empty: any tag the OAuth client owns',
  POD_NAME: 'the host name',
  OPERATOR_ID: 'derived from OPERATOR_NAMESPACE and RELEASE_NAME, else operator',
  CLUSTER_ID: "a hash of the kube-system namespace's UID",
  EXTENSION_GRPC_ADDRESS: '<POD_IP or 0.0.0.0>:<EXTENSION_GRPC_PORT>',
  POD_IP: 'unset: all interfaces (0.0.0.0)',
  EXTENSION_TLS_CERT_FILE: 'unset: plaintext',
  EXTENSION_TLS_CLIENT_CA_FILE: 'unset: server TLS only',
};

/** The Helm chart value each variable comes from (deploy/chart/values.yaml). */
export const chartValues: Record<string, string> = {
  TEMPORAL_ADDRESS: 'temporal.address',
  TEMPORAL_NAMESPACE: 'temporal.namespace',
  TEMPORAL_TASK_QUEUE: 'temporal.taskQueue',
  TEMPORAL_TLS: 'temporal.tls.enabled',
  TEMPORAL_TLS_CERT: 'temporal.tls.clientCertSecret',
  TEMPORAL_TLS_KEY: 'temporal.tls.clientCertSecret',
  TEMPORAL_API_KEY: 'temporal.apiKey.secretName, .secretKey',
  OPERATOR_ID: 'operatorId',
  CLUSTER_ID: 'clusterId',
  TAILSCALE_API_BASE_URL: 'tailscale.apiBaseUrl',
  WATCH_NAMESPACES: 'watch.namespaces',
  WATCH_LABEL_SELECTOR: 'watch.labelSelector',
  PROXY_ALLOWED_TAGS: 'proxies.allowedTags',
  RESYNC_INTERVAL_SECONDS: 'watch.resyncIntervalSeconds',
  SWEEP_INTERVAL_SECONDS: 'worker.sweeper.intervalSeconds',
  STALE_CONSUMER_SECONDS: 'worker.sweeper.staleConsumerSeconds',
  WORKER_MAX_CACHED_WORKFLOWS: 'worker.maxCachedWorkflows',
  LOG_LEVEL: 'logLevel',
  HEALTH_ADDRESS: 'worker.healthPort, watchers.healthPort',
  TEMPORAL_METRICS_ADDRESS: 'worker.temporalMetricsPort',
  TEMPORAL_WORKER_DEPLOYMENT_NAME: 'worker.versioning.enabled',
  TEMPORAL_WORKER_BUILD_ID: 'worker.versioning.buildId',
  EXTENSION_GRPC_PORT: 'extension.grpcPort',
  POD_IP: 'extension.enabled',
  EXTENSION_MAX_CONCURRENT_CALLS: 'extension.maxConcurrentCalls',
  EXTENSION_MAX_QUEUED_CALLS: 'extension.maxQueuedCalls',
  EXTENSION_HTTP_ADDRESS: 'extension.httpPort',
  EXTENSION_MAX_MESSAGE_BYTES: 'extension.maxMessageBytes',
  CLUSTER_DOMAIN: 'extension.clusterDomain',
  EXTENSION_TLS_CERT_FILE: 'extension.tls.enabled',
  EXTENSION_TLS_KEY_FILE: 'extension.tls.enabled',
  EXTENSION_TLS_CLIENT_CA_FILE: 'extension.tls.mutual',
  LEADER_ELECTION_NAMESPACE: 'watchers.leaderElection.enabled',
  LEADER_ELECTION_LEASE_DURATION_SECONDS: 'watchers.leaderElection.leaseDurationSeconds',
  LEADER_ELECTION_RENEW_DEADLINE_SECONDS: 'watchers.leaderElection.renewDeadlineSeconds',
  LEADER_ELECTION_RETRY_PERIOD_SECONDS: 'watchers.leaderElection.retryPeriodSeconds',
};

const envName = /^[A-Z][A-Z0-9_]+$/;

/**
 * Finds the variables a file reads: `helper(env, 'NAME', default?)` calls (the shape every config loader
 * here uses) and `env.NAME` / `process.env.NAME` reads. A call's description is the doc comment of the
 * config interface member it is assigned to (`operatorId: dnsLabel(env, 'OPERATOR_ID', ...)`).
 */
export function envVarsIn(file: string, root = repoRoot()): Omit<EnvVar, 'processes' | 'sources'>[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const memberDocs = new Map<string, string>();
  const found = new Map<string, Omit<EnvVar, 'processes' | 'sources'>>();

  const docOf = (node: ts.Node) =>
    ts
      .getJSDocCommentsAndTags(node)
      .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim() || undefined;

  const visit = (node: ts.Node) => {
    if (ts.isPropertySignature(node) && ts.isIdentifier(node.name)) {
      const doc = docOf(node);
      if (doc) memberDocs.set(node.name.text, doc);
    }
    if (ts.isCallExpression(node)) {
      const [first, second, third] = node.arguments;
      if (first && ts.isIdentifier(first) && first.text === 'env' && second && ts.isStringLiteral(second)) {
        if (envName.test(second.text)) {
          const parent = node.parent;
          const fallback =
            third?.getText(source) ??
            (ts.isBinaryExpression(parent) &&
            parent.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken &&
            parent.left === node
              ? parent.right.getText(source)
              : undefined);
          let holder: ts.Node = node;
          while (holder.parent && !ts.isPropertyAssignment(holder) && !ts.isVariableDeclaration(holder)) {
            holder = holder.parent;
          }
          const member =
            ts.isPropertyAssignment(holder) && ts.isIdentifier(holder.name) ? holder.name.text : undefined;
          found.set(second.text, {
            name: second.text,
            default: fallback,
            description: member,
          });
        }
      }
    }
    if (ts.isPropertyAccessExpression(node) && envName.test(node.name.text)) {
      const target = node.expression.getText(source);
      if (target === 'env' || target === 'process.env') {
        found.set(node.name.text, {
          name: node.name.text,
          default: found.get(node.name.text)?.default,
          description: undefined,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found.values()].map((v) => ({
    ...v,
    // `description` held the config member name until every member's doc comment was known.
    description: v.description ? memberDocs.get(v.description) : undefined,
  }));
}

export function collectEnvVars(root = repoRoot()): EnvVar[] {
  const all = new Map<string, EnvVar>();
  for (const { file, processes } of envSources) {
    for (const v of envVarsIn(file, root)) {
      const entry = all.get(v.name) ?? {
        name: v.name,
        default: undefined,
        description: undefined,
        processes: new Set<string>(),
        sources: new Set<string>(),
      };
      entry.default ??= v.default;
      entry.description ??= v.description;
      processes.forEach((p) => entry.processes.add(p));
      entry.sources.add(file);
      all.set(v.name, entry);
    }
  }
  for (const entry of all.values()) {
    entry.description = descriptions[entry.name] ?? entry.description;
    if (defaults[entry.name]) entry.default = defaults[entry.name];
  }
  return [...all.values()];
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text: string) => '`' + text.replace(/`/g, "'") + '`';

function renderDefault(value: string | undefined): string {
  if (value === undefined) return '—';
  const literal = /^'(.*)'$/.exec(value);
  if (literal) return code(literal[1] ?? '');
  // A product of literals (16 * 1024 * 1024) reads better evaluated.
  if (/^[0-9_.]+( *\* *[0-9_.]+)*$/.test(value)) {
    return code(String(value.split('*').reduce((n, f) => n * Number(f.trim().replace(/_/g, '')), 1)));
  }
  return /^[a-z]/.test(value) && !/[()]/.test(value) ? value : code(value);
}

const processOrder = ['worker', 'watchers', 'extension'];

export function renderConfigurationDoc(root = repoRoot()): string {
  const vars = collectEnvVars(root).sort(
    (a, b) =>
      processOrder.indexOf([...a.processes][0] ?? '') - processOrder.indexOf([...b.processes][0] ?? '') ||
      a.name.localeCompare(b.name),
  );
  const rows = vars.map(
    (v) =>
      `| ${code(v.name)} | ${processOrder.filter((p) => v.processes.has(p)).join(', ')} | ${cell(
        renderDefault(v.default),
      )} | ${chartValues[v.name] ? code(chartValues[v.name] ?? '') : '—'} | ${cell(v.description ?? '')} |`,
  );
  return [
    '<!-- Generated by tools/generate-docs.ts (npm run docs) from the code that reads each variable. Do not edit. -->',
    '',
    '# Configuration',
    '',
    'Every process is configured through its environment and validates it at start-up: a bad value stops',
    'the process with a message naming the variable. The Helm chart (`deploy/chart`) sets these from its',
    'values; `deploy/chart/values.schema.json` rejects bad values before anything is installed.',
    '',
    `Read by: ${envSources.map((s) => code(s.file)).join(', ')}.`,
    '',
    '| Variable | Read by | Default | Chart value | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'The worker and the watchers must agree on `TEMPORAL_NAMESPACE` and `TEMPORAL_TASK_QUEUE`; the watchers',
    'and the extension server on `WATCH_NAMESPACES` and `WATCH_LABEL_SELECTOR`. The chart sets each from one',
    'value. The replay command (`npm run replay`) reads the `TEMPORAL_*` variables too.',
    '',
  ].join('\n');
}

interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  schema: JsonSchema;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.type === 'array') return `${schema.items ? typeOf(schema.items) : 'any'}[]`;
  if (schema.type === 'object' && schema.additionalProperties && !schema.properties) {
    return `map[string]${typeOf(schema.additionalProperties)}`;
  }
  if (schema['x-kubernetes-preserve-unknown-fields']) return 'object (free-form)';
  return schema.type ?? 'any';
}

function fieldRows(schema: JsonSchema, path: string, required: boolean, rows: FieldRow[]): void {
  rows.push({ path, type: typeOf(schema), required, schema });
  const object = schema.type === 'array' ? schema.items : schema;
  const suffix = schema.type === 'array' ? '[]' : '';
  for (const [name, child] of Object.entries(object?.properties ?? {})) {
    fieldRows(child, `${path}${suffix}.${name}`, object?.required?.includes(name) ?? false, rows);
  }
}

function constraintsOf(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.default !== undefined) parts.push(`default ${code(JSON.stringify(schema.default))}`);
  if (schema.pattern) parts.push(`pattern ${code(schema.pattern)}`);
  if (schema.format) parts.push(`format ${schema.format}`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) parts.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`length ≤ ${schema.maxLength}`);
  if (schema.minItems !== undefined) parts.push(`items ≥ ${schema.minItems}`);
  if (schema.maxItems !== undefined) parts.push(`items ≤ ${schema.maxItems}`);
  if (schema.maxProperties !== undefined) parts.push(`entries ≤ ${schema.maxProperties}`);
  if (schema['x-kubernetes-list-type'] === 'set') parts.push('unique items');
  if (schema['x-kubernetes-list-map-keys']) {
    parts.push(`keyed by ${schema['x-kubernetes-list-map-keys'].join(', ')}`);
  }
  for (const rule of schema['x-kubernetes-validations'] ?? []) parts.push(`rule: ${rule.message}`);
  return parts.join('; ');
}

function renderCrd(def: CrdDefinition<unknown, unknown>): string {
  const manifest = crdManifest(def);
  const root = manifest.spec.versions[0]?.schema.openAPIV3Schema.properties;
  const rows: FieldRow[] = [];
  if (root) {
    fieldRows(root.spec, 'spec', true, rows);
    fieldRows(root.status, 'status', false, rows);
  }
  const table = rows
    .filter((r) => r.path !== 'spec' || constraintsOf(r.schema))
    .map(
      (r) =>
        `| ${code(r.path)} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(
          [r.schema.description, constraintsOf(r.schema)].filter(Boolean).join(' — '),
        )} |`,
    );
  return [
    `## ${def.kind}`,
    '',
    def.description,
    '',
    `${manifest.spec.group}/${manifest.spec.versions[0]?.name}, ${def.scope === 'Cluster' ? 'cluster-scoped' : 'namespaced'}; ` +
      `\`kubectl get ${def.plural}\` (short names: ${def.shortNames.join(', ')}; category \`tailscale-gateway\`).`,
    '',
    '| Field | Type | Required | Description and validation |',
    '| --- | --- | --- | --- |',
    ...table,
    '',
  ].join('\n');
}

export function renderApiReferenceDoc(): string {
  return [
    '<!-- Generated by tools/generate-docs.ts (npm run docs) from api/v1alpha1. Do not edit. -->',
    '',
    '# API reference: gateway.tailscale.com/v1alpha1',
    '',
    'Every kind has a status subresource with `observedGeneration` and standard `conditions` (`Ready` summarizes',
    'the others); the same schema sources generate these tables, the TypeScript types and `deploy/crds/`.',
    '',
    ...allCrds.map(renderCrd),
  ].join('\n');
}

/**
 * docs-relative file → content, formatted by the project's prettier (its CLI, so the result is exactly
 * what `prettier --check` expects, and so it also runs where prettier's ESM core cannot be imported).
 */
export function renderDocs(root = repoRoot()): Map<string, string> {
  const pretty = (file: string, text: string) =>
    execFileSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--stdin-filepath', file], {
      cwd: root,
      input: text,
      encoding: 'utf8',
    });
  return new Map([
    ['configuration.md', pretty('docs/configuration.md', renderConfigurationDoc(root))],
    ['api-reference.md', pretty('docs/api-reference.md', renderApiReferenceDoc())],
  ]);
}

function main() {
  const root = repoRoot();
  const dir = join(root, 'docs');
  const check = parseArgs({ options: { check: { type: 'boolean', default: false } } }).values.check;
  const stale: string[] = [];
  for (const [name, content] of renderDocs(root)) {
    const path = join(dir, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    stale.push(name);
    if (!check) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, content);
    }
  }
  if (check && stale.length) {
    console.error(`docs/ is out of date (${stale.join(', ')}): run npm run docs`);
    process.exit(1);
  }
  if (!check) console.log(stale.length ? `wrote docs/${stale.join(', docs/')}` : 'docs/ up to date');
}

if (require.main === module) main();
