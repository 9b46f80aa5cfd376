// Plain-text tables of result records for terminals and logs.
import { formatEps } from '../attacks';
import type { ResultRecord } from './index';

export function attackColumn(r: Pick<ResultRecord, 'attack' | 'eps' | 'steps'>): string {
  if (r.attack === 'clean') return 'clean';
  const eps = formatEps(r.eps);
  if (r.attack === 'fgsm') return `FGSM ${eps}`;
  if (r.attack === 'pgd-linf' || r.attack === 'pgd-l2') return `PGD-${r.steps} ${r.attack === 'pgd-l2' ? 'L2 ' : ''}${eps}`;
  // APGD, FAB-T, Square: the attack's own name (its norm is in the record's config, not here).
  return `${r.attack.toUpperCase()}${r.attack === 'square' ? '' : `-${r.steps}`} ${eps}`;
}

/** One row per (model, activation, gradient modes, seed), one column per attack. */
export function formatResults(records: ResultRecord[]): string {
  if (records.length === 0) return '(no results)';
  const cols: string[] = [];
  const rows = new Map<string, Map<string, number>>();
  for (const r of records) {
    const col = attackColumn(r);
    if (!cols.includes(col)) cols.push(col);
    const grads = r.attackerGradient && (r.attackerGradient !== 'own' || r.trainerGradient !== 'own') ? ` atk:${r.attackerGradient} trn:${r.trainerGradient}` : '';
    const key = `${r.dataset}${r.synthetic ? ' (SYNTHETIC)' : ''} ${r.model} ${r.activation}${grads} seed ${r.seed}`;
    if (!rows.has(key)) rows.set(key, new Map());
    rows.get(key)!.set(col, r.accuracy);
  }
  const header = ['run', ...cols];
  const body = [...rows].map(([k, m]) => [k, ...cols.map((c) => (m.has(c) ? `${(100 * m.get(c)!).toFixed(1)}%` : '-'))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
