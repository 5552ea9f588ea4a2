/**
 * "Does the live object already say what we would apply?": every field we set is present with the same
 * value; fields the API server defaulted or other managers own are ignored. Lists compare item by item
 * and must have the same length (we own whole lists such as env and volumes).
 */
export function isSubsetOf(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return desired === live || sameScalar(desired, live);
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((item, i) => isSubsetOf(item, live[i]))
    );
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const liveRecord = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([key, value]) =>
    isSubsetOf(value, liveRecord[key]),
  );
}

// The API server returns an int-or-string port or a quantity as it was stored; numbers we wrote as
// numbers can come back as numbers, but never change type otherwise.
function sameScalar(desired: unknown, live: unknown): boolean {
  return typeof desired === 'number' && typeof live === 'string' && String(desired) === live;
}
