// `monoscope export figure` on a real project (a copy of the e2e demo project: base, dpo, decpo): the
// figures' data equals what the store holds, the PNGs decode at the requested DPI and are not blank, the
// SVGs are well-formed, every file is logged in the store, and bad requests name what is wrong. Also the
// pure helpers the CLI shares with the Project and Compare views (metric merging, saturation, panels).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { csvParse } from 'd3';
import { openProject } from '../../../src/core/store/project.js';
import { createService, type Service } from '../../../src/core/service.js';
import { figureSpec, parsePanels, writeFigure, type FigureRequest } from '../../../src/main/cli-figure.js';
import { mergeLive, saturation, panelsWithData } from '../../../src/shared/specs/metrics.js';
import { defaultSelection } from '../../../src/shared/specs/compareSelection.js';
import { demoProject } from '../../e2e/served-project.js';
import { parseXml } from '../figures/xml.js';
import { cli } from '../../integration/cli.js';

/** Share of pixels that differ from the top-left pixel (the background) by more than 24 in a channel. */
function inkShare(png: ReturnType<typeof decode>): number {
  const bg = [png.data[0], png.data[1], png.data[2]];
  let n = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const o = i * png.channels;
    if ([0, 1, 2].some((c) => Math.abs(png.data[o + c] - bg[c]) > 24)) n++;
  }
  return n / (png.width * png.height);
}

describe('monoscope export figure', () => {
  let dir: string;
  let out: string;
  let service: Service;

  beforeAll(() => {
    // A private copy: exports and comparisons are written into the store.
    const source = demoProject();
    dir = mkdtempSync(join(tmpdir(), 'monoscope-figure-'));
    cpSync(source, join(dir, 'project'), { recursive: true });
    out = join(dir, 'out');
    service = createService(openProject(join(dir, 'project'), { create: true }));
  });
  afterAll(() => {
    service?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const exportFig = async (req: FigureRequest, name: string, dpi = 300) => {
    const spec = await figureSpec(service, req);
    const files = await writeFigure(
      service,
      req.figure,
      spec,
      { svg: join(out, `${name}.svg`), png: join(out, `${name}.png`), csv: join(out, `${name}.csv`), dpi },
      { ...req },
    );
    return {
      files,
      svg: readFileSync(join(out, `${name}.svg`), 'utf8'),
      png: decode(readFileSync(join(out, `${name}.png`))),
      csv: csvParse(readFileSync(join(out, `${name}.csv`), 'utf8')),
    };
  };

  it('draws training curves with the stored values, eval dashed, at the chosen size and DPI', async () => {
    const r = await exportFig(
      {
        figure: 'training-curves',
        run: ['dpo'],
        metrics: [['loss'], ['rewards/margins']],
        width: 640,
        height: 320,
      },
      'curves',
    );
    // 640 × 320 px at 300 dpi = 2000 × 1000 pixels, with the DPI in the pHYs chunk.
    expect([r.png.width, r.png.height]).toEqual([2000, 1000]);
    expect(r.png.resolution).toEqual({ x: Math.round(300 / 0.0254), y: Math.round(300 / 0.0254), unit: 1 });
    expect(inkShare(r.png)).toBeGreaterThan(0.02);
    const root = parseXml(r.svg);
    expect(root.name).toBe('svg');
    expect(r.svg).toContain('run: dpo');
    // The CSV holds exactly the stored series, train and eval.
    const stored = await service.call('runs.metrics', { runId: 'dpo' });
    const loss = r.csv.filter((row) => row.panel === 'loss' && row.kind === 'train');
    expect(loss.map((row) => Number(row.x))).toEqual(stored['loss'].steps);
    expect(loss.map((row) => Number(row.y))).toEqual(stored['loss'].values);
    const evalLoss = r.csv.filter((row) => row.panel === 'loss' && row.kind === 'eval');
    expect(evalLoss.map((row) => Number(row.y))).toEqual(stored['eval_loss'].values);
    expect(r.files.map((f) => f.format)).toEqual(['svg', 'png', 'csv']);
  });

  it('draws a comparison metric per layer from the stored comparison, and the held-out bars', async () => {
    const r = await exportFig(
      { figure: 'compare', checkpoints: ['base', 'dpo', 'decpo'], metric: 'meanAbsCorr' },
      'compare',
    );
    const stored = await service.call('analyses.get', {
      kind: 'compare',
      inputs: { checkpoints: ['base', 'dpo', 'decpo'], task: 'toxicity' },
    });
    const rows = (stored!.result as { rows: { checkpoint: string; layer: number; meanAbsCorr: number }[] })
      .rows;
    expect(r.csv).toHaveLength(rows.length);
    for (const row of rows) {
      const bar = r.csv.find((c) => c.series === row.checkpoint && c.group === `L${row.layer}`);
      expect(Number(bar!.value)).toBe(row.meanAbsCorr);
    }
    expect(r.svg).toContain('task: toxicity');
    expect(inkShare(r.png)).toBeGreaterThan(0.02);

    const held = await exportFig({ figure: 'compare-heldout', theme: 'dark' }, 'heldout', 96);
    // The dark theme's background, at 96 dpi the figure's own px size (960 × 340 by default).
    expect([held.png.width, held.png.height]).toEqual([960, 340]);
    expect(Array.from(held.png.data.slice(0, 3))).toEqual([0x15, 0x17, 0x1c]);
    expect(inkShare(held.png)).toBeGreaterThan(0.02);
    const scores = (stored!.result as { scores: { checkpoint: string; rewardAccuracy: number }[] }).scores;
    for (const s of scores) {
      const bar = held.csv.find((c) => c.panel === 'reward accuracy' && c.series === s.checkpoint);
      expect(Number(bar!.value)).toBe(s.rewardAccuracy);
    }
  });

  it('draws the correlation heatmap and a neuron page from the store', async () => {
    const hm = await exportFig(
      { figure: 'heatmap', checkpoint: 'dpo', tap: 'blocks.1.mlp.post', order: 'cluster' },
      'heatmap',
      150,
    );
    const m = await service.call('correlation.matrix', {
      ref: { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' },
    });
    // The CSV is the matrix in cluster order.
    expect(hm.csv).toHaveLength(m.size);
    const [i, j] = [m.order[3], m.order[7]];
    expect(Number(hm.csv[3][String(j)])).toBeCloseTo(m.corr[i * m.size + j], 6);
    expect(inkShare(hm.png)).toBeGreaterThan(0.2);

    const page = await service.call('neurons.page', {
      ref: { checkpoint: 'dpo', tap: 'blocks.1.mlp.post' },
      neuron: 5,
    });
    const h = await exportFig(
      { figure: 'neuron-histogram', checkpoint: 'dpo', tap: 'blocks.1.mlp.post', neuron: 5 },
      'hist',
    );
    expect(h.csv.map((row) => Number(row.count))).toEqual(page.histogram.counts);
    expect(inkShare(h.png)).toBeGreaterThan(0.01);
    const c = await exportFig(
      { figure: 'neuron-contexts', checkpoint: 'dpo', tap: 'blocks.1.mlp.post', neuron: 5, contexts: 4 },
      'contexts',
    );
    expect(new Set(c.csv.map((row) => row.context)).size).toBe(4);
    expect(c.csv.filter((row) => row.context === '0').map((row) => row.token)).toEqual(
      page.topExamples[0].text,
    );
    const concepts = await exportFig(
      { figure: 'neuron-concepts', checkpoint: 'dpo', tap: 'blocks.1.mlp.post', neuron: 5 },
      'concepts',
    );
    expect(concepts.csv.map((row) => [row.group, Number(row.value)])).toEqual(
      page.conceptMeans.map((m) => [m.concept, m.mean]),
    );
  });

  it('logs every file it wrote in the store', async () => {
    const logged = await service.call('figures.list', {});
    const pngs = logged.filter((f) => f.format === 'png');
    expect(pngs.map((f) => f.figure)).toEqual(
      expect.arrayContaining([
        'training-curves',
        'compare',
        'compare-heldout',
        'heatmap',
        'neuron-histogram',
      ]),
    );
    const curves = pngs.find((f) => f.figure === 'training-curves')!;
    expect(curves.file).toBe(join(out, 'curves.png'));
    expect(existsSync(curves.file)).toBe(true);
    expect(curves.options).toMatchObject({ run: ['dpo'], dpi: 300 });
  });

  it('names what is wrong in a bad request', async () => {
    await expect(figureSpec(service, { figure: 'training-curves', run: ['nope'] })).rejects.toThrow(
      "no run 'nope' in the project (runs: base, dpo, decpo)",
    );
    await expect(
      figureSpec(service, { figure: 'training-curves', run: ['base'], metrics: [['rewards/margins']] }),
    ).rejects.toThrow("no run of base logged 'rewards/margins'");
    await expect(figureSpec(service, { figure: 'compare', metric: 'accuracy' })).rejects.toThrow(
      "unknown --metric 'accuracy'",
    );
    await expect(figureSpec(service, { figure: 'heatmap', checkpoint: 'dpo' })).rejects.toThrow(
      'give --tap <tap>',
    );
    const spec = await figureSpec(service, { figure: 'training-curves', run: ['base'] });
    await expect(writeFigure(service, 'training-curves', spec, {}, {})).rejects.toThrow(
      'give at least one of --out',
    );
  });

  // The compiled CLI (`npm test` builds it first).
  const built = existsSync(join(import.meta.dirname, '../../../dist/main/cli-figure.js'));
  it.skipIf(!built)('runs from the command line: flags, panels and --json', () => {
    const svg = join(out, 'cli.svg');
    const r = cli([
      'export',
      'figure',
      '--project',
      join(dir, 'project'),
      '--figure',
      'training-curves',
      '--run',
      'dpo,decpo',
      '--metrics',
      'rewards/chosen+rewards/rejected',
      '--out',
      svg,
      '--width',
      '500',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as { files: { format: string; file: string }[] };
    expect(printed.files).toEqual([expect.objectContaining({ format: 'svg', file: svg })]);
    const root = parseXml(readFileSync(svg, 'utf8'));
    expect(root.attrs.width).toBe('500');
    // Two runs × two metrics, each with its dashed eval twin.
    expect(readFileSync(svg, 'utf8')).toContain('decpo chosen (eval)');
    const bad = cli([
      'export',
      'figure',
      '--project',
      join(dir, 'project'),
      '--figure',
      'heatmap',
      '--out',
      svg,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('give --checkpoint <name>');
  });
});

describe('figure data shared by the app and the CLI', () => {
  it('merges a running job’s steps into the stored series, live values winning', () => {
    const stored = { loss: { steps: [1, 2, 3], values: [0.7, 0.6, 0.5] } };
    const merged = mergeLive(stored, [
      { step: 3, metrics: { loss: 0.45, 'rewards/margins': 0.2 } },
      { step: 4, metrics: { loss: 0.4 } },
    ]);
    expect(merged.loss).toEqual({ steps: [1, 2, 3, 4], values: [0.7, 0.6, 0.45, 0.4] });
    expect(merged['rewards/margins']).toEqual({ steps: [3], values: [0.2] });
    expect(stored.loss.values).toEqual([0.7, 0.6, 0.5]);
    expect(panelsWithData([merged])).toEqual([['loss'], ['rewards/margins']]);
  });

  it('flags DPO saturation only when loss → 0, accuracy = 1 and the margin still grows', () => {
    const steps = Array.from({ length: 20 }, (_, i) => i + 1);
    const series = (f: (s: number) => number) => ({ steps, values: steps.map(f) });
    // Margins 0.5·s: at step 20 the window (last 3 steps: 18..20) runs 9 → 10, growing by 1.11×, not 1.5×.
    const growing = {
      loss: series(() => 0.01),
      'rewards/accuracies': series(() => 1),
      'rewards/margins': series((s) => 0.5 * s),
    };
    expect(saturation(growing)).toMatchObject({ saturated: false, window: 3, marginStart: 9, marginEnd: 10 });
    // Margins 2^(s/2): over steps 18..20 they double (512 → 1024).
    const exploding = { ...growing, 'rewards/margins': series((s) => 2 ** (s / 2)) };
    const sat = saturation(exploding)!;
    expect(sat.saturated).toBe(true);
    expect(sat.marginEnd / sat.marginStart).toBeCloseTo(2, 12);
    expect(sat.loss).toBeCloseTo(0.01, 12);
    // A healthy run: loss 0.3, accuracy 0.8.
    expect(saturation({ ...exploding, loss: series(() => 0.3) })!.saturated).toBe(false);
    expect(saturation({ ...exploding, 'rewards/accuracies': series(() => 0.8) })!.saturated).toBe(false);
    expect(saturation({ loss: series(() => 0.01) })).toBeNull();
  });

  it('parses metric panels and picks the default checkpoints', () => {
    expect(parsePanels('loss, rewards/chosen+rewards/rejected')).toEqual([
      ['loss'],
      ['rewards/chosen', 'rewards/rejected'],
    ]);
    const ck = (name: string, stage: string) => ({ name, stage });
    expect(
      defaultSelection([ck('decpo', 'decpo'), ck('base', 'base'), ck('x', 'sft'), ck('dpo', 'dpo')]),
    ).toEqual(['base', 'dpo', 'decpo']);
    expect(defaultSelection([ck('a', 'sft'), ck('b0', 'base'), ck('c', 'dpo'), ck('d', 'l1')])).toEqual([
      'b0',
      'a',
      'c',
    ]);
  });
});
