// Results for notebooks and reports: load runs, DataFrames (mean ± std over seeds, the paper's
// table shape, describe, CSV), and tables shown as HTML in notebooks.
export { listRuns, loadMetrics, loadResults, readRunResults } from './runs';
export type { LoadedRecord, LoadResultsOptions, MetricRecord, ResultRecord } from './runs';
export { RESULT_COLUMNS, describeResults, formatMeanStd, loadDanfo, meanStd, paperTable, resultsFrame, saveCSV } from './tables';
export type { DataFrame, MeanStdOptions, PaperTableOptions } from './tables';
export { numericColumns, showTable, tableHTML, tableText } from './show';
export type { TableLike, TableOptions } from './show';
