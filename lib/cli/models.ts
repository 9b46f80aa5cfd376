// `sat models [--json]`: every registered model's size at its published input.
import { initBackend } from '../backend';
import { modelNames } from '../models';
import { countModel, PUBLISHED, type PublishedSize } from '../models/count';
import { parse } from './args';

const USAGE = `usage: sat models [<model>...] [--json]

Lists every model (or the ones named) with its default input, trainable parameters and
multiply-adds of one forward pass at that input (convolutions and dense layers), beside the
published numbers where there are some.
  --json  a JSON array of {model, inputShape, numClasses, params, macs, published?}`;

interface Row {
  model: string;
  inputShape: [number, number, number];
  numClasses: number;
  params: number;
  macs: number;
  published?: PublishedSize;
}

const int = (n: number) => n.toLocaleString('en-US');
const giga = (n: number) => `${(n / 1e9).toFixed(n < 1e10 ? 3 : 2)} G`;
const relative = (ours: number, theirs: number) => `${ours >= theirs ? '+' : ''}${(((ours - theirs) / theirs) * 100).toFixed(2)}%`;

function table(rows: Row[]): string {
  const header = ['model', 'input', 'params', 'MACs', 'published params', 'diff', 'published MACs'];
  const cells = rows.map((r) => [
    r.model,
    r.inputShape.join('x'),
    int(r.params),
    giga(r.macs),
    r.published ? int(r.published.params) : '',
    r.published ? relative(r.params, r.published.params) : '',
    r.published?.macs ? giga(r.published.macs) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ').trimEnd();
  const sources = [...new Set(rows.flatMap((r) => (r.published ? [r.published.source] : [])))];
  return [line(header), ...cells.map(line), '', 'published:', ...sources.map((s) => `  ${s}`)].join('\n');
}

/** Runs `sat models` (argv without `models`); returns the exit code. */
export async function modelsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  await initBackend(undefined, true);
  const names = positionals.length > 0 ? positionals : modelNames();
  const rows: Row[] = names.map((model) => ({ model, ...countModel(model), published: PUBLISHED[model] }));
  console.log(values.json ? JSON.stringify(rows, null, 2) : table(rows));
  return 0;
}
