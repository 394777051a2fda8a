// Test page: the app's Figure component showing two sample figures, for the export e2e test.
import { createRoot } from 'react-dom/client';
import { Figure } from '../../../src/renderer/app/components/Figure.js';
import { ThemeContext } from '../../../src/renderer/app/theme.js';
import { blockCorrelation, sampleSpecs } from '../../unit/figures/samples.js';
import '../../../src/renderer/app/fonts.css';
import '../../../src/renderer/app/styles.css';

const specs = sampleSpecs();
createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value="light">
    <Figure
      spec={{ ...specs.groupedBar, options: { ...specs.groupedBar.options, width: 480, height: 300 } }}
      fileName="bars"
    />
    <Figure spec={{ ...specs.line, options: { ...specs.line.options, legend: 'none' } }} fileName="line" />
    <Figure
      spec={{
        kind: 'heatmap',
        data: { rows: 8, cols: 8, values: blockCorrelation(8, 2) },
        options: { title: '8 × 8', width: 360, height: 320, domain: [-1, 1] },
      }}
      fileName="heatmap"
    />
  </ThemeContext.Provider>,
);
