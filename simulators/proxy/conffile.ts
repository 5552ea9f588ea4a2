/**
 * The tailscaled config file as tailscale.com v1.102.5 reads it, for the proxy stand-in: the choice of
 * file in the versioned config directory (cmd/containerboot/main.go tailscaledConfigFilePath,
 * k8s-operator/utils.go CapVerFromFileName) and the decoding of the chosen file (ipn/conffile/conffile.go
 * Load into ipn/conf.go ConfigVAlpha). Whatever either refuses, containerboot exits on, so the replica
 * never comes up. Messages follow Go's, minus values that could hold a secret.
 */
import { isIP } from 'node:net';
import { HujsonSyntaxError, parseHujson } from '../../activities/specs/hujson';
import { capVersionFileName } from '../../activities/specs/tailscaled-config';
import { isRecord } from '../../activities/tailscale/response-shape';

/** tailcfg.CurrentCapabilityVersion of tailscale.com v1.102.5. */
export const currentCapabilityVersion = 142;

/** The file was refused: tailscaled (or containerboot) exits with this message. */
export class TailscaledConfigRefused extends Error {
  override readonly name = 'TailscaledConfigRefused';
}

/**
 * The file containerboot runs tailscaled with: the highest `cap-<N>.hujson` with N at most its own
 * capability version (`tailscaled` counts as 0). Like Go's `fmt.Sscanf(name, "cap-%d.hujson")`, a
 * signed number is read and anything after the pattern is ignored; the path is then rebuilt from N.
 */
export function chooseConfigFile(names: Iterable<string>, capVersion: number, dir: string): string {
  let best = -1;
  for (const name of names) {
    const version = name === 'tailscaled' ? 0 : capVersionOfName(name);
    if (version !== undefined && version > best && version <= capVersion) best = version;
  }
  if (best === -1) {
    // Until capability version 107 this message printed the number with %q: a quoted character.
    const shown =
      capVersion < 107 && capVersion >= 32 ? `'${String.fromCharCode(capVersion)}'` : String(capVersion);
    throw new TailscaledConfigRefused(
      `no tailscaled config file found in "${dir}" for current capability version ${shown}`,
    );
  }
  return best === 0 ? 'tailscaled' : capVersionFileName(best);
}

function capVersionOfName(name: string): number | undefined {
  const match = /^cap-([+-]?\d+)\.hujson/.exec(name);
  return match ? Number(match[1]) : undefined;
}

type FieldType = 'string' | 'optBool' | 'bool' | 'stringList' | 'prefixList' | 'addrPortList' | 'uint16';
interface Struct {
  name: string;
  fields: Record<string, FieldType | Struct | 'object'>;
}

const appConnectorPrefs: Struct = { name: 'AppConnectorPrefs', fields: { Advertise: 'bool' } };
const autoUpdatePrefs: Struct = { name: 'AutoUpdatePrefs', fields: { Check: 'bool', Apply: 'optBool' } };

/** ipn.ConfigVAlpha's JSON names and types at v1.102.5 (ipn/conf.go). */
const configVAlpha: Struct = {
  name: 'ConfigVAlpha',
  fields: {
    Version: 'string',
    Locked: 'optBool',
    ServerURL: 'string',
    AuthKey: 'string',
    Enabled: 'optBool',
    OperatorUser: 'string',
    Hostname: 'string',
    acceptDNS: 'optBool',
    acceptRoutes: 'optBool',
    exitNode: 'string',
    allowLANWhileUsingExitNode: 'optBool',
    AdvertiseRoutes: 'prefixList',
    AdvertiseExitNode: 'optBool',
    DisableSNAT: 'optBool',
    AdvertiseServices: 'stringList',
    AppConnector: appConnectorPrefs,
    NetfilterMode: 'string',
    NoStatefulFiltering: 'optBool',
    PostureChecking: 'optBool',
    RunSSHServer: 'optBool',
    RunWebClient: 'optBool',
    ShieldsUp: 'optBool',
    RemoteConfig: 'optBool',
    AutoUpdate: autoUpdatePrefs,
    // An ipn.ServeConfig; its inner fields are left to tools/tailscale-config-check.
    ServeConfigTemp: 'object',
    StaticEndpoints: 'addrPortList',
    RelayServerPort: 'uint16',
    RelayServerStaticEndpoints: 'addrPortList',
  },
};

/** The decoded config, under the Go field names' JSON keys as written in ipn/conf.go. */
export type TailscaledConfigVAlpha = Record<string, unknown>;

/**
 * conffile.Load: HuJSON standardized, then a `version` key (matched case-insensitively) that must be
 * "alpha0", then a strict decode: unknown fields, wrong types and trailing data are errors. Keys are
 * matched case-insensitively as encoding/json does; of two keys naming one field, the last wins.
 */
export function loadTailscaledConfig(path: string, text: string): TailscaledConfigVAlpha {
  const fail = (message: string) =>
    new TailscaledConfigRefused(`error parsing config file ${path}: ${message}`);
  let value: unknown;
  try {
    value = parseHujson(text);
  } catch (err) {
    if (err instanceof HujsonSyntaxError) {
      throw new TailscaledConfigRefused(`error parsing config file ${path} HuJSON/JSON: ${err.message}`);
    }
    throw err;
  }
  if (value !== null && !isRecord(value)) {
    throw fail(
      `json: cannot unmarshal ${jsonKind(value)} into Go value of type struct { Version string "json:\\"version\\"" }`,
    );
  }
  const entries = Object.entries(value ?? {});
  const version = entries.filter(([k]) => k.toLowerCase() === 'version').pop()?.[1];
  if (version !== undefined && version !== null && typeof version !== 'string') {
    throw fail(`json: cannot unmarshal ${jsonKind(version)} into Go struct field .version of type string`);
  }
  if (!version) throw fail('no "version" field defined');
  if (version !== 'alpha0') throw fail(`unsupported "version" value "${version}"; want "alpha0" for now`);
  try {
    return decodeStruct(configVAlpha, entries);
  } catch (err) {
    if (err instanceof DecodeError) throw fail(err.message);
    throw err;
  }
}

class DecodeError extends Error {}

function decodeStruct(struct: Struct, entries: [string, unknown][]): Record<string, unknown> {
  const byFold = new Map(Object.keys(struct.fields).map((f) => [f.toLowerCase(), f]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const field = struct.fields[key] !== undefined ? key : byFold.get(key.toLowerCase());
    if (field === undefined) throw new DecodeError(`json: unknown field "${key}"`);
    out[field] = decodeField(struct, field, struct.fields[field]!, value);
  }
  return out;
}

function decodeField(
  struct: Struct,
  field: string,
  type: FieldType | Struct | 'object',
  value: unknown,
): unknown {
  const wrong = (goType: string) =>
    new DecodeError(
      `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${struct.name}.${field} of type ${goType}`,
    );
  if (type === 'optBool') {
    // opt.Bool.UnmarshalJSON sees the raw token; the value itself is not echoed (it could be a key).
    if (value === true || value === false || value === null) return value;
    throw new DecodeError(
      `invalid opt.Bool value for ${field}: a ${jsonKind(value)}, want true, false or null`,
    );
  }
  if (value === null) return null;
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw wrong('string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw wrong('bool');
      return value;
    case 'uint16':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535)
        throw wrong('uint16');
      return value;
    case 'object':
      if (!isRecord(value)) throw wrong('ipn.ServeConfig');
      return value;
    case 'stringList':
    case 'prefixList':
    case 'addrPortList': {
      const element = { stringList: 'string', prefixList: 'netip.Prefix', addrPortList: 'netip.AddrPort' }[
        type
      ];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrong(`[]${element}`);
      if (type === 'prefixList') value.forEach((v) => checkText(field, v, isPrefix, 'netip.ParsePrefix'));
      if (type === 'addrPortList')
        value.forEach((v) => checkText(field, v, isAddrPort, 'netip.ParseAddrPort'));
      return value;
    }
    default:
      if (!isRecord(value)) throw wrong(`ipn.${type.name}`);
      return decodeStruct(type, Object.entries(value));
  }
}

// netip's UnmarshalText takes "" as the zero value.
function checkText(field: string, text: string, valid: (s: string) => boolean, parser: string): void {
  if (text !== '' && !valid(text))
    throw new DecodeError(`${parser}(${JSON.stringify(text)}): invalid value in ${field}`);
}

function isPrefix(text: string): boolean {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return false;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const family = isIP(addr);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function isAddrPort(text: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!match || Number(match[3]) > 65535) return false;
  return match[1] !== undefined ? isIP(match[1]) === 6 : isIP(match[2]!) === 4;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return typeof value;
}
