/**
 * SQL for `time` plus `months`, clamped to the end of the month the way Stripe bills: 31 Jan + 1 month is
 * 28 Feb (29 in a leap year), 31 Aug + 3 months is 30 Nov, 29 Feb + 12 months is 28 Feb. SQLite's own
 * `+N months` overflows into the next month (31 Jan + 1 month = 3 Mar), and the `floor` modifier that fixes
 * this is too new (SQLite 3.46) to rely on in D1, so the day is clamped by hand: the target month's first
 * day, then the smaller of the original day and the target month's last day, then the original time.
 *
 * `time` is an SQL expression for an ISO 8601 UTC time (`YYYY-MM-DDTHH:MM:SS.sssZ`), `months` one for a
 * positive integer; both may be evaluated several times, so they must not have side effects.
 */
export function addMonthsSql(time: string, months: string): string {
  const target = `strftime('%Y-%m-', ${time}, 'start of month', '+' || (${months}) || ' months')`;
  const lastDay = `CAST(strftime('%d', ${time}, 'start of month', '+' || (${months} + 1) || ' months', '-1 day') AS INTEGER)`;
  const day = `printf('%02d', min(CAST(strftime('%d', ${time}) AS INTEGER), ${lastDay}))`;
  return `(${target} || ${day} || strftime('T%H:%M:%fZ', ${time}))`;
}
