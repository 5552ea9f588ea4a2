/** Field rules of the real API (tailcfg.ServiceName.Validate, tailcfg.CheckTag, KB1589 port specs). */

const dnsLabelPattern = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const tagPattern = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
const portSpecPattern = /^tcp:(\d{1,5})(?:-(\d{1,5}))?$/;

export const servicePrefix = 'svc:';
export const doNotValidatePorts = 'do-not-validate';

export const hasServicePrefix = (name: string): boolean => name.startsWith(servicePrefix);

export function isValidServiceName(name: string): boolean {
  return hasServicePrefix(name) && dnsLabelPattern.test(name.slice(servicePrefix.length));
}

/** The DNS label of a service (`svc:web` -> `web`), lower-cased because DNS is case-insensitive. */
export const serviceLabel = (name: string): string => name.slice(servicePrefix.length).toLowerCase();

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

/** Returns an error message, or null when the list is acceptable. */
export function checkPorts(ports: string[]): string | null {
  if (ports.includes(doNotValidatePorts)) {
    return ports.length === 1 ? null : `"${doNotValidatePorts}" must be the only entry in ports`;
  }
  for (const spec of ports) {
    const match = portSpecPattern.exec(spec);
    if (!match) return `invalid port "${spec}": expected "tcp:<port>" or "tcp:<first>-<last>"`;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first < 1 || last > 65535 || first > last) return `invalid port range "${spec}"`;
  }
  return null;
}

export function checkTags(tags: string[]): string | null {
  const bad = tags.find((tag) => !isValidTag(tag));
  return bad === undefined ? null : `invalid tag "${bad}": tags must match tag:[A-Za-z][A-Za-z0-9-]*`;
}

export function isValidDnsSuffix(suffix: string): boolean {
  const labels = suffix.split('.');
  return labels.length >= 2 && labels.every((label) => dnsLabelPattern.test(label));
}
