// Pure helpers for the results table: sorting, CSV/TSV, and chart detection.

const DATE_RE = /^\d{4}-\d{2}(-\d{2})?([ T][\d:.]+Z?)?$/;

export const isNumber = (v) =>
  typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)) && !DATE_RE.test(v));

export const isDateLike = (v) => typeof v === 'string' && DATE_RE.test(v);

/** Sorts rows (arrays) by column `index`: numbers numerically, nulls first, else text. */
export function sortRows(rows, index, ascending) {
  const dir = ascending ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[index];
    const y = b[index];
    if (x == null && y == null) return 0;
    if (x == null) return -dir;
    if (y == null) return dir;
    if (isNumber(x) && isNumber(y)) return (Number(x) - Number(y)) * dir;
    return String(x).localeCompare(String(y)) * dir;
  });
}

function csvCell(v) {
  if (v == null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header line, CRLF line ends. */
export function toCsv(columns, rows) {
  return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Tab-separated values (for pasting into a spreadsheet). */
export function toTsv(columns, rows) {
  const cell = (v) => (v == null ? '' : String(v).replace(/[\t\n]/g, ' '));
  return [columns, ...rows].map((r) => r.map(cell).join('\t')).join('\n');
}

/**
 * A chart for "label + number" or "date + number" results: {kind: 'bar'|'line',
 * labelIndex, valueIndex, points: [{label, value}]} or null when the rows do not fit.
 */
export function chartSpec(columns, rows) {
  // Identifier columns (`id`, `*_id`) ride along with a label; they are not the data.
  const kept = columns.map((c, i) => i).filter((i) => !/(^|_)id$/i.test(columns[i]));
  if (kept.length !== 2 || rows.length < 2 || rows.length > 60) return null;
  return chartOf(columns, rows, kept);
}

function chartOf(columns, rows, kept) {
  const numeric = (i) => rows.every((r) => r[i] == null || isNumber(r[i])) && rows.some((r) => r[i] != null);
  const dateCol = (i) => rows.every((r) => isDateLike(r[i]));
  const labelIndex = kept.find((i) => !numeric(i) || dateCol(i));
  if (labelIndex === undefined) return null;
  const valueIndex = kept.find((i) => i !== labelIndex && numeric(i) && !dateCol(i));
  if (valueIndex === undefined) return null;
  const dated = rows.every((r) => isDateLike(r[labelIndex]));
  let points = rows.map((r) => ({ label: r[labelIndex] == null ? '∅' : String(r[labelIndex]), value: Number(r[valueIndex] ?? 0) }));
  if (dated) points = points.sort((a, b) => a.label.localeCompare(b.label));
  return { kind: dated ? 'line' : 'bar', labelIndex, valueIndex, points };
}
