export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;
const DAY_MS = 24 * 3600 * 1000;

/**
 * A time from a query string: an RFC 3339 date-time, or a YYYY-MM-DD date (UTC; with `endOfDay`,
 * its last millisecond). Null for anything else, including what the pattern lets through but the
 * calendar does not (month 13, a leap second, 24:00).
 */
export function parseTimeParam(value: string, opts: { endOfDay?: boolean } = {}): number | null {
  if (DATE_ONLY.test(value)) {
    const ms = calendarDate(value);
    return ms === null ? null : opts.endOfDay ? ms + DAY_MS - 1 : ms;
  }
  const m = DATE_TIME.exec(value);
  if (m) {
    // Date.parse rolls impossible fields over (24:00 is the next midnight, 02-30 is March 1).
    const [, date, hour, minute, second] = m;
    if (calendarDate(date as string) === null) return null;
    if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return null;
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && new Date(ms).getUTCFullYear() <= 9999) return ms;
  }
  return null;
}

/** Midnight UTC of a YYYY-MM-DD date the calendar has, or null. */
function calendarDate(date: string): number | null {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(date) ? ms : null;
}
