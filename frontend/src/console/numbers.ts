/** Numbers as agents type them: Persian (۰–۹) and Arabic-Indic (٠–٩) digits are digits. */

/** What was typed in a number field is not a number: refused before anything is sent
 * (read as "no value", it would have saved "no limit"). */
export class NotANumber extends Error {
  constructor(readonly typed: string) {
    super(`"${typed}" is not a number`);
  }
}

/** The text with its Persian and Arabic-Indic digits written as ASCII ones, and without the
 * thousands separators a number shown by `formatNumber` carries ("۱٬۴۴۰", "1,440"). */
export function latinDigits(text: string): string {
  return text
    .replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[٬,]/g, "")
    .replace(/٫/g, ".");
}

/** A number typed in either script; null when nothing was typed; NotANumber otherwise. */
export function readNumber(text: string): number | null {
  const latin = latinDigits(text).trim();
  if (latin === "") return null;
  const n = Number(latin);
  if (!Number.isFinite(n)) throw new NotANumber(text.trim());
  return n;
}
