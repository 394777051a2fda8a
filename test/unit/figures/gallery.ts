// Renders every sample figure to test-output/figures/ as SVG, PNG (light and dark) and CSV, to look at:
//   npx tsx test/unit/figures/gallery.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgToPng } from '../../../src/main/figure-png.js';
import { figureCsv, renderFigure } from '../../../src/shared/figures/index.js';
import type { FigureSpec } from '../../../src/shared/figures/types.js';
import { sampleSpecs } from './samples.js';

const out = join('test-output', 'figures');
mkdirSync(out, { recursive: true });
const specs = sampleSpecs();
const timings: Record<string, number> = {};
for (const [name, spec] of Object.entries(specs)) {
  for (const theme of ['light', 'dark'] as const) {
    const themed = { ...spec, options: { ...spec.options, theme } } as FigureSpec;
    const t0 = performance.now();
    const svg = renderFigure(themed);
    const png = svgToPng(svg, { dpi: 144 });
    timings[`${name}-${theme}`] = Math.round(performance.now() - t0);
    writeFileSync(join(out, `${name}-${theme}.svg`), svg);
    writeFileSync(join(out, `${name}-${theme}.png`), png);
  }
  writeFileSync(join(out, `${name}.csv`), figureCsv(spec));
}
console.log(JSON.stringify({ out, ms: timings }));
