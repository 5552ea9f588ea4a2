/**
 * Orders strings by UTF-16 code units. Workflow code sorts with this, never with `localeCompare` or
 * `Intl.Collator`: those follow the ICU data of the Node build, which can differ between two workers
 * replaying the same history.
 */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
