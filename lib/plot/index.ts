// Figures: builders that return plotly specs, notebook display with a static fallback, and
// export to figures/<name>.svg|png.
export type { Figure, FigureOptions, Layout, Numbers, Trace } from './figure';
export { describeFigure } from './figure';
export { barChart, lineChart, logTicks, scatterChart } from './charts';
export type { BarChartOptions, BarSeries, LineChartOptions, LineSeries, ScatterChartOptions, ScatterPoint } from './charts';
export { activationScatter, errorBar, originAxes } from './activations';
export type { ActivationGroup, ActivationMark, ErrorBar } from './activations';
export { AXIS_COLORS, scalingFigure } from './scaling';
export type { AxisPoint, GrowthAxis } from './scaling';
export { heatmapGrid } from './heatmap';
export type { HeatmapGridOptions, HeatmapPanel } from './heatmap';
export { imageGrid } from './images';
export type { ImageGridOptions, ImageInput, ImagePanel } from './images';
export { closeRenderer, exportFigure, findChromium, renderFigure, saveFigure, setRendererIdleTimeout, sortSvgAttributes, stripPngMetadata, validateFigure } from './render';
export type { ImageFormat, RenderOptions } from './render';
export { PLOTLY_MIME, figureBundle, liveFigure, show } from './show';
export type { ShowOptions } from './show';
export { displayBundle, inNotebook } from './notebook';
