// Tables in notebooks (HTML plus a text version in one output) and in terminals (text).
import { displayBundle, inNotebook } from '../plot/notebook';

/** Anything with column names and rows: a danfo DataFrame, or plain `{ columns, values }`. */
export interface TableLike {
  columns: string[];
  values: unknown;
  /** Row labels; shown as a first column unless they are just 0, 1, 2, ... */
  index?: unknown;
}

export interface TableOptions {
  /** A caption above the table. */
  title?: string;
  /** Decimal places for non-integer numbers (default 4). */
  digits?: number;
}

/** Shows a table: HTML in a notebook (`await showTable(df)`), aligned text elsewhere. */
export async function showTable(table: TableLike | Record<string, unknown>[], opts: TableOptions = {}): Promise<void> {
  const { columns, rows } = tableCells(table, opts.digits ?? 4);
  const text = tableText(columns, rows, opts.title);
  if (inNotebook()) {
    await displayBundle({ 'text/html': tableHTML(columns, rows, opts.title), 'text/plain': text });
  } else {
    console.log(text);
  }
}

/** Column names and formatted cells from a frame or an array of row objects. */
export function tableCells(table: TableLike | Record<string, unknown>[], digits: number): { columns: string[]; rows: string[][] } {
  if (Array.isArray(table)) {
    const columns = [...new Set(table.flatMap((r) => Object.keys(r)))];
    return { columns, rows: table.map((r) => columns.map((c) => formatCell(r[c], digits))) };
  }
  if (!table || !Array.isArray(table.columns) || !Array.isArray(table.values)) {
    throw new Error('showTable: expected a DataFrame, { columns, values } or an array of row objects');
  }
  // a one-column frame can give a flat array of values
  const values = (table.values as unknown[]).map((row) => (Array.isArray(row) ? row : [row]));
  const index = Array.isArray(table.index) ? (table.index as unknown[]) : [];
  const labelled = index.length === values.length && index.some((v, i) => v !== i);
  const columns = [...(labelled ? [''] : []), ...table.columns.map(String)];
  const rows = values.map((row, i) => [...(labelled ? [index[i]] : []), ...row].map((v) => formatCell(v, digits)));
  return { columns, rows };
}

export function formatCell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '';
    return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  }
  return String(v);
}

// A number as tables show it: "0.5000", "-3", "1,234", "97.2%", "71.3 ± 1.2", "+2.1 ± 0.4",
// "71.3 (one seed: no interval)", "1.2e-5". Columns of these are right-aligned so that digits line up.
const NUMBER = String.raw`[+\-−]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:e[+\-]?\d+)?%?`;
const NUMERIC_CELL = new RegExp(`^${NUMBER}(?: ± ${NUMBER})?(?: \\([^)]*\\))?$`, 'i');
// Cells that say "no value" and do not make a column textual.
const BLANK_CELL = /^(|NaN|—|-|n\/a)$/i;

/** Per column: true when every non-blank cell is a number (optionally ± an error), so it is right-aligned. */
export function numericColumns(columns: string[], rows: string[][]): boolean[] {
  return columns.map((_, j) => {
    const cells = rows.map((r) => r[j] ?? '').filter((s) => !BLANK_CELL.test(s));
    return cells.length > 0 && cells.every((s) => NUMERIC_CELL.test(s));
  });
}

/**
 * An HTML table: text columns left-aligned, number columns right-aligned, and a number never
 * wraps ("94.1 ± 0.4" stays on one line). Jupyter's CSS right-aligns every cell and outranks a
 * cell's `align`, and untrusted notebooks (every freshly cloned one) lose `style` attributes and
 * `<style>` (measured in classic Notebook 6), so each cell holds a `<div align=...>`: the div's
 * own alignment beats the alignment it would inherit from the cell. Spaces inside numbers are
 * non-breaking, which needs no CSS at all.
 */
export function tableHTML(columns: string[], rows: string[][], title?: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const numeric = numericColumns(columns, rows);
  const cell = (tag: string, s: string, j: number) => {
    const align = numeric[j] ? 'right' : 'left';
    const body = numeric[j] ? esc(s).replace(/ /g, '\u00a0') : esc(s);
    return `<${tag} align="${align}"><div align="${align}">${body}</div></${tag}>`;
  };
  return [
    '<table class="sat-table">',
    title ? `<caption>${esc(title)}</caption>` : '',
    `<thead><tr>${columns.map((c, j) => cell('th', c, j)).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((s, j) => cell('td', s, j)).join('')}</tr>`).join('')}</tbody>`,
    '</table>',
  ].join('');
}

/** The same table as aligned text: text columns padded on the right, number columns on the left. */
export function tableText(columns: string[], rows: string[][], title?: string): string {
  const numeric = numericColumns(columns, rows);
  const widths = columns.map((c, j) => Math.max(c.length, ...rows.map((r) => r[j]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((s, j) => (numeric[j] ? (s ?? '').padStart(widths[j]) : (s ?? '').padEnd(widths[j]))).join('  ').trimEnd();
  return [...(title ? [title] : []), line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
