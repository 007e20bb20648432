// A date field: the browser's date input in English; in Persian, day, month and year of the
// Jalali (Solar Hijri) calendar, converted with Intl's Persian calendar (no library: the
// browser's ICU knows the calendar, its leap years included). The value is ISO (Gregorian).
import { useState, type ReactElement } from "react";
import { useStore } from "./store";

const DAY_MS = 86400000;
const PARTS = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", { year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC" });
const MONTHS = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { month: "long", timeZone: "UTC" });
const DIGITS = new Intl.NumberFormat("fa-IR", { useGrouping: false });

type Jalali = [number, number, number];

export function jalaliOf(ms: number): Jalali {
  const parts = Object.fromEntries(PARTS.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return [Number(parts.year), Number(parts.month), Number(parts.day)];
}

/** The Gregorian ISO date of a Jalali date, or null when it does not exist (30 Esfand of a
 * common year). 1 Farvardin falls on 20–21 March; the guess is corrected by a few days. */
export function gregorianOf([y, m, d]: Jalali): string | null {
  const offset = m <= 7 ? (m - 1) * 31 : 186 + (m - 7) * 30;
  const guess = Date.UTC(y + 621, 2, 21) + (offset + d - 1) * DAY_MS;
  for (let delta = -3; delta <= 3; delta++) {
    const ms = guess + delta * DAY_MS;
    const [jy, jm, jd] = jalaliOf(ms);
    if (jy === y && jm === m && jd === d) return new Date(ms).toISOString().slice(0, 10);
  }
  return null;
}

interface Props {
  label: string;
  value: string | null;
  onChange: (iso: string | null) => void;
  testId: string;
  /** In a row of controls that says what it is for: the label is the field's name only. */
  unlabelled?: boolean;
  /** How many years before this one can be picked (reports and the audit log look back). */
  yearsBack?: number;
}

export function JalaliDateInput({ label, value, onChange, testId, unlabelled, yearsBack = 1 }: Props): ReactElement {
  const lang = useStore((s) => s.lang);
  const today = jalaliOf(Date.now());
  const shown: Jalali = value ? jalaliOf(Date.parse(`${value}T00:00:00Z`)) : today;
  const [picked, setPicked] = useState<Jalali | null>(null);
  if (lang !== "fa") {
    const input = (
      <input
        type="date"
        aria-label={unlabelled ? label : undefined}
        value={value ?? ""}
        onChange={(e) => onChange(e.target.value || null)}
        data-testid={testId}
      />
    );
    return unlabelled ? (
      input
    ) : (
      <label>
        {label}
        {input}
      </label>
    );
  }
  // Shown: the value; else a date being picked that does not exist (so it can be fixed).
  const current = value ? shown : picked && gregorianOf(picked) === null ? picked : null;
  function pick(next: Jalali): void {
    setPicked(next);
    onChange(gregorianOf(next));
  }
  const [y, m, d] = current ?? [today[0], 0, 0];
  const first = Math.min(today[0] - yearsBack, y);
  const years = Array.from({ length: Math.max(today[0] + 2, y) - first + 1 }, (_, i) => first + i);
  return (
    <fieldset className="jalali" data-testid={testId} aria-label={unlabelled ? label : undefined}>
      {!unlabelled && <legend>{label}</legend>}
      <select aria-label="روز" value={d} onChange={(e) => pick([y, m || 1, Number(e.target.value)])} data-testid={`${testId}-day`}>
        <option value={0}>روز</option>
        {Array.from({ length: 31 }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {DIGITS.format(n)}
          </option>
        ))}
      </select>
      <select aria-label="ماه" value={m} onChange={(e) => pick([y, Number(e.target.value), d || 1])} data-testid={`${testId}-month`}>
        <option value={0}>ماه</option>
        {Array.from({ length: 12 }, (_, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {MONTHS.format(new Date(Date.parse(gregorianOf([today[0], n, 1]) ?? "2000-01-01")))}
          </option>
        ))}
      </select>
      <select aria-label="سال" value={y} onChange={(e) => pick([Number(e.target.value), m || 1, d || 1])} data-testid={`${testId}-year`}>
        {years.map((n) => (
          <option key={n} value={n}>
            {DIGITS.format(n)}
          </option>
        ))}
      </select>
      {current && !value && <span className="error">✕</span>}
    </fieldset>
  );
}
