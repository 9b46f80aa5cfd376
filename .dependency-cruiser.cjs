// Import rules of lib/, checked by `npm test` (test/architecture.test.ts): no cycles, and no
// upward import between layers. Results flow one way: data and models -> attacks -> training
// and evaluation -> run folders and the results store -> reports and plots -> studies -> grids
// -> running a study -> the command line.
const LAYERS = [
  // lib/report/stats.ts is pure arithmetic with no imports (t, binomial, Holm, power): the
  // evaluation's count checks use it as much as the reports do.
  ['foundation', '^lib/(util|kernels|native)/|^lib/backend\\.ts$|^lib/report/stats\\.ts$'],
  ['building blocks', '^lib/(activations\\.ts|data|models|attacks|checkpoint|export)(/|$)'],
  ['training and evaluation', '^lib/(train|eval|diagnostics)(/|$)'],
  ['results', '^lib/results/'],
  ['reports and plots', '^lib/(report/(?!stats\\.ts$)|plot/)'],
  ['studies', '^lib/experiments/'],
  ['grids', '^lib/grid/'],
  ['running a study', '^lib/run-[a-z-]+\\.ts$'],
  ['command line', '^lib/(cli\\.ts|cli/)'],
];

const upward = LAYERS.flatMap(([name, path], i) =>
  LAYERS.slice(i + 1).map(([higher, higherPath]) => ({
    name: `no-upward-import: ${name} -> ${higher}`,
    comment: `'${name}' (layer ${i}) must not import '${higher}' (layer ${LAYERS.findIndex((l) => l[0] === higher)}): move the shared code down, or the caller up.`,
    severity: 'error',
    from: { path },
    to: { path: higherPath },
  })),
);

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'An import cycle: break it by moving the shared piece into its own module.', severity: 'error', from: {}, to: { circular: true, dependencyTypesNot: ['type-only'] } },
    ...upward,
  ],
  options: { tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' }, exclude: { path: 'node_modules' } },
};
