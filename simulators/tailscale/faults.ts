/**
 * Fault injection, by method and path pattern: error statuses (with Retry-After), latency, connection
 * resets, lost updates (a PUT acknowledged with 200 but dropped, or overwritten again by the previous
 * value, as a concurrent writer holding stale data would do) and lost responses (the request takes
 * effect, then its answer is a 5xx or a reset connection, as when a gateway times out after the backend
 * committed). Rules may fire at a rate, a limited number of times, and after letting the first N
 * matching requests through.
 */
import { standardMessage } from './api-error';
import { randomAlphanumeric } from './ids';

interface FaultMatch {
  /** HTTP method, or `*` (default) for any. */
  method?: string;
  /** Glob on the decoded path: `*` stays within a segment, `**` spans segments. Default `**`. */
  path?: string;
  /** Probability in [0, 1] that a matching request is hit (default 1). */
  rate?: number;
  /** Fire at most this many times. */
  count?: number;
  /** Let this many matching requests through before firing. */
  skip?: number;
}

export type LostUpdateMode = 'drop' | 'revert';

export type FaultSpec = FaultMatch &
  (
    | { kind: 'error'; status: number; message?: string; retryAfterSeconds?: number }
    | { kind: 'latency'; latencyMs: number }
    | { kind: 'reset' }
    | { kind: 'lost-update'; mode: LostUpdateMode; revertAfterMs?: number }
    /** Handled as usual, then answered with `status` (a reset connection when absent). */
    | { kind: 'lost-response'; status?: number }
  );

export interface FaultRule {
  id: string;
  spec: FaultSpec;
  /** Matching requests seen, and how many of them the fault hit. */
  matched: number;
  fired: number;
  /** When each hit arrived (ms since the epoch), so tests can check retry spacing. */
  firedAt: number[];
}

export interface LostUpdate {
  mode: LostUpdateMode;
  revertAfterMs: number;
}

export type TerminalFault =
  { kind: 'error'; status: number; message: string; retryAfterSeconds?: number } | { kind: 'reset' };

export interface FaultOutcome {
  latencyMs: number;
  /** Answers instead of the handler. */
  terminal: TerminalFault | null;
  lostUpdate: LostUpdate | null;
  /** Answers after the handler ran, discarding its response. */
  lostResponse: TerminalFault | null;
}

interface CompiledRule extends FaultRule {
  pathPattern: RegExp;
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

export class FaultInjector {
  private rules: CompiledRule[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  add(input: unknown): FaultRule {
    const spec = parseFaultSpec(input);
    const rule: CompiledRule = {
      id: `f-${randomAlphanumeric(8)}`,
      spec,
      matched: 0,
      fired: 0,
      firedAt: [],
      pathPattern: globToRegExp(spec.path ?? '**'),
    };
    this.rules.push(rule);
    return ruleView(rule);
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((rule) => rule.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map(ruleView);
  }

  evaluate(method: string, path: string): FaultOutcome {
    const outcome: FaultOutcome = { latencyMs: 0, terminal: null, lostUpdate: null, lostResponse: null };
    for (const rule of this.rules) {
      const { spec } = rule;
      const methodMatches =
        spec.method === undefined || spec.method === '*' || spec.method.toUpperCase() === method;
      if (!methodMatches || !rule.pathPattern.test(path)) continue;
      const answered = outcome.terminal !== null || outcome.lostResponse !== null;
      if ((spec.kind === 'error' || spec.kind === 'reset' || spec.kind === 'lost-response') && answered)
        continue;
      rule.matched++;
      if (rule.matched <= (spec.skip ?? 0)) continue;
      if (spec.count !== undefined && rule.fired >= spec.count) continue;
      if (this.random() >= (spec.rate ?? 1)) continue;
      rule.fired++;
      rule.firedAt.push(Date.now());
      if (spec.kind === 'latency') outcome.latencyMs += spec.latencyMs;
      else if (spec.kind === 'lost-update')
        outcome.lostUpdate = { mode: spec.mode, revertAfterMs: spec.revertAfterMs ?? 0 };
      else if (spec.kind === 'reset') outcome.terminal = { kind: 'reset' };
      else if (spec.kind === 'lost-response')
        outcome.lostResponse =
          spec.status === undefined
            ? { kind: 'reset' }
            : { kind: 'error', status: spec.status, message: standardMessage(spec.status) };
      else
        outcome.terminal = {
          kind: 'error',
          status: spec.status,
          message: spec.message ?? standardMessage(spec.status),
          retryAfterSeconds: spec.retryAfterSeconds,
        };
    }
    return outcome;
  }
}

function ruleView(rule: CompiledRule): FaultRule {
  return {
    id: rule.id,
    spec: structuredClone(rule.spec),
    matched: rule.matched,
    fired: rule.fired,
    firedAt: [...rule.firedAt],
  };
}

/** Validates a fault description coming from the admin API (in-process or HTTP). */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null) throw new Error('fault must be an object');
  const spec = input as Record<string, unknown>;
  const optionalNumber = (field: string, min: number, max: number) => {
    const value = spec[field];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`fault.${field} must be a number in [${min}, ${max}]`);
    }
  };
  for (const field of ['method', 'path', 'message']) {
    if (spec[field] !== undefined && typeof spec[field] !== 'string')
      throw new Error(`fault.${field} must be a string`);
  }
  optionalNumber('rate', 0, 1);
  optionalNumber('count', 0, Number.MAX_SAFE_INTEGER);
  optionalNumber('skip', 0, Number.MAX_SAFE_INTEGER);
  switch (spec.kind) {
    case 'error':
      if (
        typeof spec.status !== 'number' ||
        !Number.isInteger(spec.status) ||
        spec.status < 400 ||
        spec.status > 599
      ) {
        throw new Error('fault.status must be an HTTP error status (400-599)');
      }
      optionalNumber('retryAfterSeconds', 0, 86_400);
      break;
    case 'latency':
      if (spec.latencyMs === undefined) throw new Error('fault.latencyMs is required');
      optionalNumber('latencyMs', 0, 600_000);
      break;
    case 'reset':
      break;
    case 'lost-response':
      if (
        spec.status !== undefined &&
        (typeof spec.status !== 'number' ||
          !Number.isInteger(spec.status) ||
          spec.status < 500 ||
          spec.status > 599)
      ) {
        throw new Error(
          'fault.status of a lost response must be a 5xx status (500-599), or absent for a reset',
        );
      }
      break;
    case 'lost-update':
      if (spec.mode !== 'drop' && spec.mode !== 'revert')
        throw new Error('fault.mode must be "drop" or "revert"');
      optionalNumber('revertAfterMs', 0, 600_000);
      break;
    default:
      throw new Error('fault.kind must be one of error, latency, reset, lost-update, lost-response');
  }
  return structuredClone(spec) as unknown as FaultSpec;
}
