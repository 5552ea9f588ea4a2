/**
 * Go's `json.Unmarshal` into a typed value, as far as the proxies' config files need it: keys match
 * struct fields case-insensitively, unknown fields are ignored, `null` leaves the zero value, and a
 * value of the wrong JSON kind fails with encoding/json's message.
 */
import { isRecord } from '../../../activities/tailscale/response-shape';

export type GoType =
  | { kind: 'string' | 'bool' }
  | { kind: 'uint16' | 'int'; goName?: string }
  | {
      kind: 'struct';
      name: string;
      fields: Record<string, GoType>;
      /** Decoded by an outer type's UnmarshalJSON: errors keep naming the outer struct. */
      inheritName?: boolean;
    }
  | { kind: 'map'; key: 'string' | 'uint16'; value: GoType; goName: string }
  | { kind: 'list'; element: GoType; goName: string };

export class GoJsonError extends Error {
  override readonly name = 'GoJsonError';
}

export const goString: GoType = { kind: 'string' };
export const goBool: GoType = { kind: 'bool' };
export const goUint16: GoType = { kind: 'uint16' };
export const goInt: GoType = { kind: 'int' };

/** Parses `text` as JSON and decodes it into `type`; syntax errors read like Go's. */
export function goUnmarshal(text: string, type: GoType): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw new GoJsonError(
      /end of JSON input/i.test(message) ? 'unexpected end of JSON input' : `invalid character: ${message}`,
    );
  }
  return decode(value, type, { struct: '', path: [] });
}

interface Where {
  struct: string;
  path: string[];
}

function decode(value: unknown, type: GoType, where: Where): unknown {
  if (value === null) return undefined;
  // encoding/json names the innermost struct and the field path from the top.
  const wrong = (goName: string, what = jsonKind(value)) =>
    new GoJsonError(
      `json: cannot unmarshal ${what} into Go ${
        where.struct ? `struct field ${where.struct}.${where.path.join('.')}` : 'value'
      } of type ${goName}`,
    );
  switch (type.kind) {
    case 'string':
      if (typeof value !== 'string') throw wrong('string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw wrong('bool');
      return value;
    case 'uint16':
    case 'int': {
      const goName = type.goName ?? type.kind;
      if (typeof value !== 'number') throw wrong(goName);
      const inRange = type.kind === 'uint16' ? value >= 0 && value <= 65535 : Number.isSafeInteger(value);
      if (!Number.isInteger(value) || !inRange) throw wrong(goName, `number ${value}`);
      return value;
    }
    case 'list':
      if (!Array.isArray(value)) throw wrong(type.goName);
      return value.map((v) => decode(v, type.element, where));
    case 'map': {
      if (!isRecord(value)) throw wrong(type.goName);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (type.key === 'uint16' && (!/^\d{1,5}$/.test(key) || Number(key) > 65535))
          throw wrong('uint16', `number ${key}`);
        out[type.key === 'uint16' ? String(Number(key)) : key] = decode(v, type.value, where);
      }
      return out;
    }
    case 'struct': {
      if (!isRecord(value)) throw wrong(type.name);
      const byFold = new Map(Object.keys(type.fields).map((f) => [f.toLowerCase(), f]));
      const name = type.inheritName && where.struct ? where.struct : type.name;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const field = type.fields[key] !== undefined ? key : byFold.get(key.toLowerCase());
        if (field === undefined) continue;
        const decoded = decode(v, type.fields[field]!, { struct: name, path: [...where.path, field] });
        if (decoded !== undefined) out[field] = decoded;
      }
      return out;
    }
  }
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value;
}
