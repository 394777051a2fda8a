// The data behind each figure as CSV: headers, one row per datum, RFC 4180 quoting.
import { describe, expect, it } from 'vitest';
import { figureCsv } from '../../../src/shared/figures/index.js';
import type { FigureSpec } from '../../../src/shared/figures/types.js';
import { sampleSpecs } from './samples.js';

const lines = (csv: string) => csv.trimEnd().split('\n');

describe('figureCsv', () => {
  it('writes line chart points, with the smoothed value the chart draws', () => {
    const csv = figureCsv({
      kind: 'line',
      data: {
        series: [
          { name: 'a, b', x: [0, 1], y: [1, NaN] },
          { name: 'e', kind: 'eval', x: [1], y: [3] },
        ],
      },
      options: { smoothing: 0.5 },
    });
    expect(lines(csv)).toEqual([
      'series,kind,x,y,y_smoothed',
      '"a, b",train,0,1,1',
      '"a, b",train,1,NaN,NaN',
      'e,eval,1,3,',
    ]);
  });

  it('writes bars with their error intervals', () => {
    const csv = figureCsv({
      kind: 'groupedBar',
      data: {
        groups: ['L0'],
        series: [
          { name: 's', values: [0.5], errors: [0.1] },
          { name: 't', values: [1] },
        ],
      },
    });
    expect(lines(csv)).toEqual(['group,series,value,error_lo,error_hi', 'L0,s,0.5,0.4,0.6', 'L0,t,1,,']);
  });

  it('writes histogram bins with density and band, and the null distribution with observed and p', () => {
    const hist = figureCsv({
      kind: 'histogram',
      data: { edges: [0, 1, 3], counts: [1, 3], bands: [{ from: 1, to: 3, label: 'top' }] },
    });
    expect(lines(hist)).toEqual(['bin_lo,bin_hi,count,density,band', '0,1,1,0.25,', '1,3,3,0.375,top']);
    const nul = figureCsv({
      kind: 'nullHistogram',
      data: { null: { edges: [0, 1], counts: [5] }, observed: 2, pValue: 0.1 },
    });
    expect(lines(nul)).toEqual([
      'quantity,bin_lo,bin_hi,value',
      'null_count,0,1,5',
      'observed,,,2',
      'p_value,,,0.1',
    ]);
  });

  it('writes the heatmap matrix in display order', () => {
    const csv = figureCsv({
      kind: 'heatmap',
      data: { rows: 2, cols: 2, values: [1, 2, 3, 4], colNames: ['x', 'y'] },
      options: { rowOrder: [1, 0] },
    });
    expect(lines(csv)).toEqual(['row,x,y', '1,3,4', '0,1,2']);
  });

  it('quotes tokens with commas, quotes and newlines', () => {
    const csv = figureCsv({
      kind: 'tokenContexts',
      data: { contexts: [{ tokens: [' a', ',', '"', '\n'], values: [0, 1, 2, 0.5] }] },
    });
    expect(csv).toBe(
      'context,position,token,value,focus\n0,0, a,0,false\n0,1,",",1,false\n0,2,"""",2,true\n0,3,"\n",0.5,false\n',
    );
  });

  it('stacks small multiples under a panel column, and covers every sample', () => {
    const panels: FigureSpec[] = [
      { kind: 'scatter', data: { series: [{ name: 's', x: [1], y: [2] }] }, options: { title: 'A' } },
      { kind: 'scatter', data: { series: [{ name: 's', x: [3], y: [4] }] }, options: { title: 'B' } },
    ];
    expect(lines(figureCsv({ kind: 'smallMultiples', data: { panels } }))).toEqual([
      'panel,series,x,y',
      'A,s,1,2',
      'B,s,3,4',
    ]);
    for (const spec of Object.values(sampleSpecs())) expect(lines(figureCsv(spec)).length).toBeGreaterThan(1);
  });
});
