/**
 * Structured JSON logs, one object per line on stdout. Every message and field passes through
 * `redact` so a Tailscale credential can never reach a log line, whatever a caller hands us.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// tskey-api-…, tskey-auth-…, tskey-client-…; plus bearer headers and OAuth form fields.
const secretPatterns: RegExp[] = [
  /tskey-[a-z]+-[A-Za-z0-9_-]+/g,
  /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /(client_secret=)[^&\s"]+/gi,
  /(access_token"?\s*[:=]\s*"?)[^"&\s,}]+/gi,
];
const secretKeyNames = /^(authorization|client_?secret|access_?token|auth_?key|token|password|secret)$/i;

export function redact(text: string): string {
  let out = text;
  for (const pattern of secretPatterns) {
    out = out.replace(pattern, (match: string, prefix?: unknown) =>
      typeof prefix === 'string' ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
}

function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return redactValue({ name: value.name, message: value.message }, depth);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = secretKeyNames.test(k) ? '[REDACTED]' : redactValue(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  fields?: LogFields;
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = levelOrder[options.level ?? envLevel()];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = options.fields ?? {};

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (levelOrder[level] < threshold) return;
    const record = {
      ts: new Date().toISOString(),
      level,
      msg: redact(msg),
      ...(redactValue({ ...base, ...fields }) as LogFields),
    };
    write(JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

function envLevel(): LogLevel {
  const level = process.env.LOG_LEVEL;
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : 'info';
}
