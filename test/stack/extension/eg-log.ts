/**
 * Route and policy statuses a standalone Envoy Gateway logged: its file provider logs each status
 * instead of writing it (internal/provider/file/status.go).
 */
import { parse } from 'yaml';

export interface LoggedCondition {
  type: string;
  status: string;
  reason: string;
}
/** A status EG's file provider logged instead of writing it (internal/provider/file/status.go). */
export interface LoggedStatus {
  parents?: { conditions?: LoggedCondition[] }[];
  ancestors?: { conditions?: LoggedCondition[] }[];
}

/**
 * Every status EG logged for `kind` `key` (`<namespace>/<name>`), oldest first. EG logs in console
 * format, one entry per timestamped line: `<time>\t<level>\t<logger>\t<caller>\tGot new status for
 * <Kind>` then the status as YAML, ending with a tab and the entry's fields as JSON (the key among them).
 */
export function loggedStatuses(log: string, kind: string, key: string): LoggedStatus[] {
  const entries = log.split(/\n(?=\d{4}-\d\d-\d\dT)/);
  const heading = `\tGot new status for ${kind}\n`;
  return entries.flatMap((entry) => {
    const at = entry.indexOf(heading);
    const fieldsAt = entry.lastIndexOf('\t{');
    if (at < 0 || fieldsAt < at) return [];
    const fields = JSON.parse(entry.slice(fieldsAt + 1)) as { key?: string };
    if (fields.key !== key) return [];
    return [parse(entry.slice(at + heading.length, fieldsAt)) as LoggedStatus];
  });
}

export const conditionsOf = (conditions: LoggedCondition[] | undefined) =>
  (conditions ?? []).map((c) => [c.type, c.status, c.reason]);
