// Figures in notebooks: one output with the plotly mime type (interactive in JupyterLab with the
// plotly extension) plus a PNG and a text line for everything else (nbconvert HTML, GitHub,
// classic Notebook, JupyterLab without the extension). plotly.js itself is never embedded: the PNG
// is rendered here. Notebooks saved by `npm run notebooks` keep the PNG and drop the plotly JSON
// (scripts/execute-notebook.py says why); figures drawn while you run cells stay interactive.
import { describeFigure, type Figure } from './figure';
import { displayBundle, inNotebook, newDisplayId, type MimeBundle } from './notebook';
import { assertFigure, renderFigure } from './render';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

export interface ShowOptions {
  /** Add a static PNG fallback (default true). */
  png?: boolean;
  /** Add an SVG fallback as well (default false: it doubles the output size). */
  svg?: boolean;
}

/** The mime bundle for a figure and whatever static renderings it has. */
export function figureBundle(fig: Figure, statics: { png?: Buffer; svg?: string } = {}): MimeBundle {
  assertFigure(fig);
  const bundle: MimeBundle = {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: { displaylogo: false } },
    'text/plain': describeFigure(fig),
  };
  if (statics.png) bundle['image/png'] = statics.png.toString('base64');
  if (statics.svg) bundle['image/svg+xml'] = statics.svg;
  return bundle;
}

/**
 * Shows a figure in the notebook (`await show(fig)`; without `await` the output can land in a
 * later cell). Outside a notebook it prints the figure's one-line description.
 */
export async function show(fig: Figure, opts: ShowOptions = {}): Promise<void> {
  assertFigure(fig);
  if (!inNotebook()) {
    console.log(`${describeFigure(fig)} (not in a notebook: use exportFigure() to write SVG/PNG files)`);
    return;
  }
  await displayBundle(figureBundle(fig, await staticImages(fig, opts)));
}

/**
 * A figure that redraws in place, e.g. a loss curve during training:
 * `const live = liveFigure(); ... await live.update(fig) ...; await live.done(fig)`.
 * Updates closer together than `minIntervalMs` are skipped; `done` always draws.
 * Outside a notebook both are no-ops.
 */
export function liveFigure(opts: ShowOptions & { minIntervalMs?: number } = {}): {
  update(fig: Figure): Promise<void>;
  done(fig: Figure): Promise<void>;
} {
  const displayId = newDisplayId();
  const minInterval = opts.minIntervalMs ?? 1000;
  let shown = false;
  let last = -Infinity;
  const draw = async (fig: Figure) => {
    assertFigure(fig);
    if (!inNotebook()) return;
    last = Date.now();
    await displayBundle(figureBundle(fig, await staticImages(fig, opts)), { displayId, update: shown });
    shown = true;
  };
  return {
    update: async (fig) => {
      if (Date.now() - last >= minInterval) await draw(fig);
    },
    done: draw,
  };
}

let warnedNoStatic = false;

async function staticImages(fig: Figure, opts: ShowOptions): Promise<{ png?: Buffer; svg?: string }> {
  try {
    return {
      png: opts.png === false ? undefined : await renderFigure(fig, 'png'),
      svg: opts.svg ? await renderFigure(fig, 'svg') : undefined,
    };
  } catch (e) {
    // The interactive figure still shows; say once why static viewers will not see it.
    if (!warnedNoStatic) console.error(`show(): no static fallback image: ${(e as Error).message.split('\n')[0]}`);
    warnedNoStatic = true;
    return {};
  }
}
