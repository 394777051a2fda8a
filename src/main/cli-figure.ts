/**
 * `monoscope export figure`: any figure of the app (the names in {@link FIGURES}), rendered from the store
 * without a browser, to SVG, PNG (at a chosen DPI) and the CSV of its data. The data comes from the core service in-process (the same
 * operations the app calls), the spec from the same builders the views use (`shared/specs`), the drawing
 * from `shared/figures` and the PNG from resvg with the bundled fonts (`figure-png.ts`). Every file written is logged in the store (`figures.record`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { openProject } from '../core/store/project.js';
import { createService, type Service } from '../core/service.js';
import { parseTapRef } from '../core/ops/tap.js';
import { checkUserOutputs, writeAll, writeUserFiles } from '../core/store/files.js';
import type { Reporter } from '../core/ops/progress.js';
import { silentReporter } from '../core/ops/progress.js';
import { renderFigure } from '../shared/figures/render.js';
import { figureCsv } from '../shared/figures/csv.js';
import { svgToPng, fontFiles } from './figure-png.js';
import { BUNDLED_FONTS, embedFonts } from '../shared/figures/fonts.js';
import type { FigureSpec } from '../shared/figures/types.js';
import type { ThemeName } from '../shared/figures/theme.js';
import { panelsWithData, runsCaption, trainingCurvesSpec, type CurveRun } from '../shared/specs/metrics.js';
import { COMPARE_METRICS, compareCaption, compareMetricSpec, heldOutSpec } from '../shared/specs/compare.js';
import { compareProbe, defaultSelection } from '../shared/specs/compareSelection.js';
import {
  heatmapSpec,
  matchAlignmentSpec,
  matchScatterSpec,
  neuronConceptsSpec,
  neuronContextsSpec,
  neuronHistogramSpec,
  neuronLogitsSpec,
  nullSpec,
  saeCurveSpec,
  saeDensitySpec,
  subspacesSpec,
  withOptions,
} from '../shared/specs/viewFigures.js';
import {
  STUDY_FIGURES,
  STUDY_FIGURE_TITLES,
  studyFigureSpec,
  type StudyFigure,
} from '../shared/specs/study.js';
import {
  cosineHistogramSpec,
  deltaHistogramSpec,
  findPair,
  latentScalingSpec,
  lensSpec,
  type DiffFigure,
} from '../shared/specs/diff.js';
import { TASK_NAMES, type TaskName } from '../core/names.js';
import { int, num, printJson, projectDir, withCancel } from './cli.js';
import { terminalReporter } from './terminal.js';

/** The figures the app shows, by the name `--figure` takes, with what each draws and what it needs. */
export const FIGURES = {
  'training-curves': 'Training curves of runs (--run, --metrics "a,b+c": panels, + draws metrics together)',
  compare: 'One per-layer metric of a comparison, as grouped bars (--checkpoints, --metric)',
  'compare-heldout':
    'The held-out reward accuracy, margin, judge and mean |corr| of a comparison (--checkpoints)',
  heatmap: 'The correlation matrix of a tap (--checkpoint, --tap, --order, --diff)',
  'neuron-histogram':
    "A neuron's activation histogram with its quantile bands (--checkpoint, --tap, --neuron)",
  'neuron-contexts': "A neuron's top-activating contexts (--checkpoint, --tap, --neuron, --contexts)",
  'neuron-concepts': "A neuron's mean activation per probe concept (--checkpoint, --tap, --neuron)",
  'neuron-logits': "The histogram of a neuron's logit effects (--checkpoint, --tap, --neuron)",
  null: 'The permutation null of SVCCA or RSA (--analysis svcca|rsa|match-svcca|match-rsa, --a, --b)',
  'match-scatter': 'The correlation of every kept pair of a feature matching (--a, --b, --sae-a, --sae-b)',
  'match-alignment': 'Which feature of A each kept pair joined to which of B (--a, --b, --sae-a, --sae-b)',
  'sae-curve': "An SAE's training loss and MSE (--sae)",
  'sae-density': "The histogram of an SAE's latent densities (--sae)",
  subspaces: 'SVCCA and RSA per concept category (--a, --b, --sae-a, --sae-b)',
  'diff-delta':
    "A crosscoder's relative decoder norms Δ for a pair of its models, tag regions coloured (--crosscoder, --a, --b)",
  'diff-cosine': "The decoder cosines of a crosscoder's shared latents for a pair (--crosscoder, --a, --b)",
  'diff-scaling': "Latent Scaling's ν^ε against ν^r of the B-only latents of a pair (--crosscoder, --a, --b)",
  'diff-lens':
    'The activation-difference lens: norm of mean(h_B − h_A) per layer (--a, --b checkpoints, --taps, --probe)',
  ...(Object.fromEntries(
    STUDY_FIGURES.map((f) => [f, `${STUDY_FIGURE_TITLES[f]} (--study, --task, --metric)`]),
  ) as Record<StudyFigure, string>),
} as const;

export type FigureName = keyof typeof FIGURES;

/** What to draw: the figure and its data's coordinates, and the look of the output. */
export interface FigureRequest {
  figure: FigureName;
  run?: string[];
  /** Panels of metrics; each panel's metrics are drawn together. */
  metrics?: string[][];
  smoothing?: number;
  checkpoints?: string[];
  metric?: string;
  /** compare-*: the held-out task; study-*: the study's task (default its first). */
  task?: TaskName | 'none';
  /** study-*: the study's name (default: the one run most recently). */
  study?: string;
  taps?: string;
  probe?: string;
  checkpoint?: string;
  tap?: string;
  neuron?: number;
  order?: 'neuron' | 'cluster';
  diff?: string;
  yMode?: 'count' | 'density' | 'log10-density';
  contexts?: number;
  analysis?: 'svcca' | 'rsa' | 'match-svcca' | 'match-rsa';
  a?: string;
  b?: string;
  mode?: 'svcca' | 'svcca-paper-compat';
  shuffles?: number;
  seed?: number;
  saeA?: string;
  saeB?: string;
  /** sae-*: the SAE's name. */
  sae?: string;
  /** diff-delta, diff-cosine, diff-scaling: the crosscoder's name (its pair of models: `a`, `b`). */
  crosscoder?: string;
  rule?: 'many-to-1' | 'one-to-one-first' | 'one-to-one-best' | 'hungarian';
  threshold?: number | null;
  width?: number;
  height?: number;
  theme?: ThemeName;
  fontSize?: number;
  title?: string;
}

/** Where the files go; at least one of svg, png and csv. */
export interface ExportTargets {
  svg?: string;
  png?: string;
  csv?: string;
  /** PNG resolution (pixels per inch; the figure's px are 1/96 inch). Default 300. */
  dpi?: number;
  /** Embed the bundled fonts in the SVG, so it renders the same without them installed. */
  embedFonts?: boolean;
}

function need<K extends keyof FigureRequest>(
  req: FigureRequest,
  key: K,
  flag: string,
): NonNullable<FigureRequest[K]> {
  const v = req[key];
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0))
    throw new Error(`export figure --figure ${req.figure}: give ${flag}`);
  return v as NonNullable<FigureRequest[K]>;
}

/** A comparison from the store, or computed (and stored) by the `compare` job when missing. */
async function comparison(service: Service, req: FigureRequest, reporter: Reporter, signal?: AbortSignal) {
  const checkpoints = req.checkpoints?.length
    ? req.checkpoints
    : defaultSelection(await service.call('checkpoints.list', {}));
  if (checkpoints.length === 0) throw new Error('export figure: the project has no checkpoints to compare');
  let task = req.task;
  if (task !== undefined && task !== 'toxicity' && task !== 'reframing' && task !== 'none')
    throw new Error(`export figure --figure ${req.figure}: --task must be toxicity, reframing or none`);
  if (!task) {
    const runs = await service.call('runs.list', {});
    task =
      runs
        .map((r) => r.task)
        .find((t): t is 'toxicity' | 'reframing' => t === 'toxicity' || t === 'reframing') ?? 'toxicity';
  }
  // The same input the Compare view sends; `compare` answers from the store when it was computed.
  const input = {
    checkpoints,
    task,
    ...(req.taps && { taps: req.taps }),
    ...(req.probe && { probe: req.probe }),
  };
  const result = await service.call('compare', input, { reporter, signal });
  const probe = compareProbe(result, await service.call('recordings.list', {}));
  return { result, caption: compareCaption(result, { probe }) };
}

/** The spec of the figure `req` names, from the project's store (computing what is missing). */
export async function figureSpec(
  service: Service,
  req: FigureRequest,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<FigureSpec> {
  const look = {
    width: req.width,
    height: req.height,
    theme: req.theme,
    fontSize: req.fontSize,
    title: req.title,
  };
  if ((STUDY_FIGURES as readonly string[]).includes(req.figure)) {
    const view = await service.call('study.get', req.study ? { name: req.study } : {});
    if (!view)
      throw new Error(
        req.study
          ? `export figure: no study '${req.study}' in the project`
          : 'export figure: the project has no study (run `monoscope study` first)',
      );
    const task = req.task === 'none' ? undefined : req.task;
    const spec = studyFigureSpec(view, req.figure as StudyFigure, { task, metric: req.metric });
    if (!spec)
      throw new Error(
        `export figure: study '${view.name}' has no data for ${req.figure}${task ? ` on ${task}` : ''}${req.metric ? ` (--metric ${req.metric})` : ''}`,
      );
    return withOptions(spec, look);
  }
  switch (req.figure) {
    case 'training-curves': {
      const ids = need(req, 'run', '--run <id[,id...]>');
      const all = await service.call('runs.list', {});
      const records = ids.map((id) => {
        const r = all.find((x) => x.id === id);
        if (!r)
          throw new Error(
            `export figure: no run '${id}' in the project (runs: ${all.map((x) => x.id).join(', ') || 'none'})`,
          );
        return r;
      });
      const runs: CurveRun[] = [];
      for (const r of records)
        runs.push({ id: r.id, stage: r.stage, series: await service.call('runs.metrics', { runId: r.id }) });
      const panels = req.metrics?.length ? req.metrics : panelsWithData(runs.map((r) => r.series));
      return trainingCurvesSpec(runs, panels, {
        ...look,
        smoothing: req.smoothing,
        caption: runsCaption(records),
      });
    }
    case 'compare': {
      const metric = req.metric ?? 'meanAbsCorr';
      if (!COMPARE_METRICS.some((m) => m.key === metric))
        throw new Error(
          `export figure: unknown --metric '${metric}' (known: ${COMPARE_METRICS.map((m) => m.key).join(', ')})`,
        );
      const { result, caption } = await comparison(service, req, reporter, signal);
      return compareMetricSpec(result, metric, { ...look, caption });
    }
    case 'compare-heldout': {
      const { result, caption } = await comparison(service, req, reporter, signal);
      return heldOutSpec(result, { ...look, caption });
    }
    case 'heatmap': {
      const ref = {
        checkpoint: need(req, 'checkpoint', '--checkpoint <name>'),
        tap: need(req, 'tap', '--tap <tap>'),
        ...(req.probe && { probe: req.probe }),
      };
      const m = await service.call(
        'correlation.matrix',
        { ref, ...(req.diff && { diffWith: req.diff }) },
        { reporter, signal },
      );
      return withOptions(heatmapSpec(m, req.order ?? 'cluster'), look);
    }
    case 'neuron-histogram':
    case 'neuron-contexts':
    case 'neuron-concepts':
    case 'neuron-logits': {
      const ref = {
        checkpoint: need(req, 'checkpoint', '--checkpoint <name>'),
        tap: need(req, 'tap', '--tap <tap>'),
        ...(req.probe && { probe: req.probe }),
      };
      const page = await service.call(
        'neurons.page',
        { ref, neuron: need(req, 'neuron', '--neuron <n>') },
        { reporter, signal },
      );
      const spec =
        req.figure === 'neuron-histogram'
          ? neuronHistogramSpec(page, req.yMode)
          : req.figure === 'neuron-contexts'
            ? neuronContextsSpec(page, req.contexts)
            : req.figure === 'neuron-concepts'
              ? neuronConceptsSpec(page)
              : neuronLogitsSpec(page);
      return withOptions(spec, look);
    }
    case 'null': {
      const analysis = need(req, 'analysis', '--analysis svcca|rsa|match-svcca|match-rsa');
      const a = parseTapRef(need(req, 'a', '--a <checkpoint:tap>'), req.probe);
      const b = parseTapRef(need(req, 'b', '--b <checkpoint:tap>'), req.probe);
      const sides = { A: `${a.checkpoint}:${a.tap}`, B: `${b.checkpoint}:${b.tap}` };
      if (analysis === 'svcca' || analysis === 'rsa') {
        const r = await service.call(
          'similarity',
          {
            a,
            b,
            measure: analysis,
            ...(req.mode && { mode: req.mode }),
            ...(req.shuffles !== undefined && { shuffles: req.shuffles }),
            ...(req.seed !== undefined && { seed: req.seed }),
          },
          { reporter, signal },
        );
        const caption = {
          ...sides,
          ...(analysis === 'svcca' ? { mode: r.label } : {}),
          ...(r.kA !== undefined ? { 'kept directions': `${r.kA}/${r.kB}` } : {}),
        };
        return withOptions(
          nullSpec(r, r.nullHistogram, analysis === 'svcca' ? 'SVCCA' : 'RSA', caption),
          look,
        );
      }
      const m = await matchResult(service, req, a, b, reporter, signal);
      const measure = analysis === 'match-svcca' ? 'svcca' : 'rsa';
      const s = m.similarity?.[measure];
      if (!s)
        throw new Error(
          `export figure: the matching kept ${m.kept} pairs, too few to score with ${measure.toUpperCase()} (need 3 and shuffles > 0)`,
        );
      const values = measure === 'svcca' ? m.svccaNullHistogram : m.rsaNullHistogram;
      return withOptions(
        nullSpec(
          s,
          values,
          `${measure === 'svcca' ? 'SVCCA' : 'RSA'} of matched pairs`,
          { ...sides, pairs: m.kept },
          { datapoints: 'pairs' },
        ),
        look,
      );
    }
    case 'match-scatter':
    case 'match-alignment':
    case 'subspaces': {
      const a = parseTapRef(need(req, 'a', '--a <checkpoint:tap>'), req.probe);
      const b = parseTapRef(need(req, 'b', '--b <checkpoint:tap>'), req.probe);
      const caption = {
        A: `${a.checkpoint}:${a.tap}${req.saeA ? ` (SAE ${req.saeA})` : ''}`,
        B: `${b.checkpoint}:${b.tap}${req.saeB ? ` (SAE ${req.saeB})` : ''}`,
      };
      if (req.figure === 'subspaces') {
        const r = await service.call(
          'subspaces',
          {
            a,
            b,
            ...(req.saeA && { saeA: req.saeA }),
            ...(req.saeB && { saeB: req.saeB }),
            ...(req.shuffles !== undefined && { shuffles: req.shuffles }),
            ...(req.seed !== undefined && { seed: req.seed }),
          },
          { reporter, signal },
        );
        return withOptions(subspacesSpec(r, { ...caption, 'null N': req.shuffles ?? 1000 }), look);
      }
      const m = await matchResult(service, req, a, b, reporter, signal);
      if (req.figure === 'match-alignment') return withOptions(matchAlignmentSpec(m, caption), look);
      return withOptions(matchScatterSpec(m, m.rThreshold, caption), look);
    }
    case 'sae-curve':
    case 'sae-density': {
      const name = need(req, 'sae', '--sae <name>');
      const saes = await service.call('saes.list', {});
      const sae = saes.find((x) => x.name === name);
      if (!sae)
        throw new Error(
          `export figure: no SAE named '${name}' in the project (SAEs: ${saes.map((x) => x.name).join(', ') || 'none'})`,
        );
      return withOptions(req.figure === 'sae-curve' ? saeCurveSpec(sae) : saeDensitySpec(sae), look);
    }
    case 'diff-delta':
    case 'diff-cosine':
    case 'diff-scaling':
    case 'diff-lens':
      return withOptions(await diffSpec(service, req, req.figure, reporter, signal), look);
    default:
      throw new Error(
        `export figure: unknown figure '${String(req.figure)}' (known: ${Object.keys(FIGURES).join(', ')})`,
      );
  }
}

/**
 * A Diff view figure: a crosscoder's for the pair of models `--a`, `--b` (default its first pair), or the
 * lens of checkpoints `--a` and `--b` (the `diff.lens` job, as the view runs it).
 */
async function diffSpec(
  service: Service,
  req: FigureRequest,
  figure: DiffFigure,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<FigureSpec> {
  if (figure === 'diff-lens') {
    const r = await service.call(
      'diff.lens',
      {
        a: need(req, 'a', '--a <checkpoint>'),
        b: need(req, 'b', '--b <checkpoint>'),
        ...(req.taps && { taps: req.taps }),
        ...(req.probe && { probe: req.probe }),
      },
      { reporter, signal },
    );
    return lensSpec(r);
  }
  const name = need(req, 'crosscoder', '--crosscoder <name>');
  const all = await service.call('crosscoders.list', {});
  const c = all.find((x) => x.name === name);
  if (!c)
    throw new Error(
      `export figure: no crosscoder named '${name}' in the project (crosscoders: ${all.map((x) => x.name).join(', ') || 'none'})`,
    );
  const pair = req.a || req.b ? findPair(c, req.a ?? '', req.b ?? '') : c.pairs[0];
  if (!pair)
    throw new Error(
      `export figure: crosscoder '${name}' has no pair of models ${req.a ?? '?'}, ${req.b ?? '?'} (its models: ${c.checkpoints.join(', ')})`,
    );
  return figure === 'diff-delta'
    ? deltaHistogramSpec(c, pair)
    : figure === 'diff-cosine'
      ? cosineHistogramSpec(c, pair)
      : latentScalingSpec(c, pair);
}

function matchResult(
  service: Service,
  req: FigureRequest,
  a: ReturnType<typeof parseTapRef>,
  b: ReturnType<typeof parseTapRef>,
  reporter: Reporter,
  signal?: AbortSignal,
) {
  const options = {
    ...(req.rule && { rule: req.rule }),
    ...(req.threshold !== undefined && { rThreshold: req.threshold }),
  };
  return service.call(
    'match',
    {
      a,
      b,
      ...(req.saeA && { saeA: req.saeA }),
      ...(req.saeB && { saeB: req.saeB }),
      ...(Object.keys(options).length > 0 && { options }),
      ...(req.shuffles !== undefined && { shuffles: req.shuffles }),
      ...(req.seed !== undefined && { seed: req.seed }),
    },
    { reporter, signal },
  );
}

/** The bundled fonts as embeddable data (read from resources/fonts). */
export function bundledFontData() {
  const files = fontFiles();
  return BUNDLED_FONTS.map((f, i) => ({
    family: f.family,
    weight: f.weight,
    data: new Uint8Array(readFileSync(files[i])),
  }));
}

export interface ExportedFile {
  format: 'svg' | 'png' | 'csv';
  file: string;
  bytes: number;
}

/**
 * Renders `spec` to the requested files and writes them all atomically (nothing under a final name until
 * every file is complete), then logs each in the store with the request that made it.
 */
export async function writeFigure(
  service: Service,
  name: string,
  spec: FigureSpec,
  to: ExportTargets,
  options: Record<string, unknown>,
): Promise<ExportedFile[]> {
  if (!to.svg && !to.png && !to.csv)
    throw new Error('export figure: give at least one of --out FILE.svg, --png FILE.png, --csv FILE.csv');
  const dpi = to.dpi ?? 300;
  const svg = renderFigure(spec);
  const outputs: { format: ExportedFile['format']; file: string; data: string | Uint8Array }[] = [];
  if (to.svg)
    outputs.push({
      format: 'svg',
      file: resolve(to.svg),
      data: to.embedFonts ? embedFonts(svg, bundledFontData()) : svg,
    });
  if (to.png) outputs.push({ format: 'png', file: resolve(to.png), data: svgToPng(svg, { dpi }) });
  if (to.csv) outputs.push({ format: 'csv', file: resolve(to.csv), data: figureCsv(spec) });
  writeUserFiles(outputs.map((o) => ({ file: o.file, write: (fd: number) => writeAll(fd, o.data) })));
  const files: ExportedFile[] = [];
  for (const o of outputs) {
    await service.call('figures.record', {
      figure: name,
      format: o.format,
      file: o.file,
      options: { ...options, ...(o.format === 'png' && { dpi }) },
    });
    files.push({
      format: o.format,
      file: o.file,
      bytes: typeof o.data === 'string' ? Buffer.byteLength(o.data) : o.data.length,
    });
  }
  return files;
}

/** A comma-separated list flag. */
function list(v: string): string[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError(`expected a comma-separated list, got '${v}'`);
  return items;
}

/** `--metrics "loss,rewards/chosen+rewards/rejected"`: panels separated by commas, metrics of a panel by '+'. */
export function parsePanels(v: string): string[][] {
  return list(v).map((p) =>
    p
      .split('+')
      .map((m) => m.trim())
      .filter(Boolean),
  );
}

/** Registers `figure` under the `export` command group. */
export function registerFigureCommand(exp: Command): void {
  exp
    .command('figure')
    .description(
      'Any figure of the app from the store, as SVG, PNG (at a DPI) and its data as CSV; logged in the store',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .addOption(
      new Option(
        '--figure <name>',
        Object.entries(FIGURES)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; '),
      )
        .choices(Object.keys(FIGURES))
        .makeOptionMandatory(),
    )
    .option('--out <file.svg>', 'write the SVG')
    .option('--png <file.png>', 'write a PNG')
    .option('--csv <file.csv>', "write the figure's data as CSV")
    .option('--width <px>', 'width in px (1/96 inch)', int('--width'))
    .option('--height <px>', 'height in px', int('--height'))
    .option('--dpi <n>', 'PNG pixels per inch', num('--dpi'), 300)
    .addOption(new Option('--theme <t>', 'colours').choices(['light', 'dark']).default('light'))
    .option('--font-size <px>', 'base font size', num('--font-size'))
    .option('--title <text>', 'title (default: the figure’s own)')
    .option('--embed-fonts', 'embed the bundled fonts in the SVG')
    .option('--run <ids>', 'training-curves: run ids', list)
    .option(
      '--metrics <panels>',
      'training-curves: metrics, e.g. "loss,rewards/margins,rewards/chosen+rewards/rejected"',
      parsePanels,
    )
    .option('--smoothing <w>', 'training-curves: EMA weight in [0, 1)', num('--smoothing'))
    .option(
      '--checkpoints <names>',
      'compare: checkpoints, the first is the base (default base,dpo,decpo)',
      list,
    )
    .option(
      '--metric <key>',
      `compare: ${COMPARE_METRICS.map((m) => m.key).join(', ')}; study-*: a metric of the study's cells (e.g. reward_accuracy, fd, hoyer)`,
    )
    .addOption(
      new Option('--task <t>', "compare: held-out task; study-*: the study's task").choices([
        ...TASK_NAMES,
        'none',
      ]),
    )
    .option('--study <name>', 'study-*: the study (default: the one run most recently)')
    .option(
      '--taps <pattern>',
      'compare: taps (default blocks.*.mlp.post); diff-lens: (default blocks.*.resid_post)',
    )
    .option('--probe <probe>', 'probe set (hash), when a tap was recorded over several')
    .option('--checkpoint <name>', 'heatmap, neuron-*: checkpoint')
    .option('--tap <tap>', 'heatmap, neuron-*: tap, e.g. blocks.1.mlp.post')
    .option('--neuron <n>', 'neuron-*: neuron index', int('--neuron'))
    .addOption(new Option('--order <o>', 'heatmap: neuron or cluster order').choices(['neuron', 'cluster']))
    .option('--diff <checkpoint>', 'heatmap: draw r(checkpoint) − r(this one)')
    .addOption(
      new Option('--y-mode <m>', 'neuron-histogram: y axis').choices(['count', 'density', 'log10-density']),
    )
    .option('--contexts <n>', 'neuron-contexts: how many top contexts', int('--contexts'))
    .addOption(
      new Option('--analysis <a>', 'null: which null').choices(['svcca', 'rsa', 'match-svcca', 'match-rsa']),
    )
    .option('--a <ckpt:tap>', 'null, match-*, subspaces: side A; diff-*: checkpoint A')
    .option('--b <ckpt:tap>', 'null, match-*, subspaces: side B; diff-*: checkpoint B')
    .addOption(new Option('--mode <m>', 'null: SVCCA mode').choices(['svcca', 'svcca-paper-compat']))
    .option('--shuffles <n>', 'null, match-*, subspaces: permutations of the null', int('--shuffles'))
    .option('--seed <n>', 'null, match-*: seed', int('--seed'))
    .option('--sae-a <name>', 'match-*, subspaces: SAE of side A')
    .option('--sae-b <name>', 'match-*, subspaces: SAE of side B')
    .option('--sae <name>', 'sae-*: the SAE')
    .option('--crosscoder <name>', 'diff-delta, diff-cosine, diff-scaling: the crosscoder')
    .addOption(
      new Option('--rule <r>', 'match-*: pairing rule').choices([
        'many-to-1',
        'one-to-one-first',
        'one-to-one-best',
        'hungarian',
      ]),
    )
    .option('--threshold <r>', 'match-*: keep pairs with r above this ("none" for no filter)')
    .option('--json', 'print the files written as JSON')
    .action(async (o: Record<string, unknown>) => {
      const {
        project: dir,
        out,
        png,
        csv,
        dpi,
        embedFonts: embed,
        json,
        threshold,
        ...rest
      } = o as {
        project: string;
        out?: string;
        png?: string;
        csv?: string;
        dpi: number;
        embedFonts?: boolean;
        json?: boolean;
        threshold?: string;
      } & Omit<FigureRequest, 'threshold'>;
      const req: FigureRequest = {
        ...rest,
        ...(threshold !== undefined && {
          threshold: threshold === 'none' ? null : num('--threshold')(threshold),
        }),
      };
      const targets: ExportTargets = { svg: out, png, csv, dpi, embedFonts: embed };
      if (!out && !png && !csv)
        throw new Error('export figure: give at least one of --out FILE.svg, --png FILE.png, --csv FILE.csv');
      checkUserOutputs([out, png, csv].filter((f) => f !== undefined)); // before the figure is computed
      const project = openProject(projectDir(dir));
      const service = createService(project);
      const reporter = terminalReporter({ stream: process.stderr });
      try {
        const files = await withCancel(async (signal) => {
          const spec = await figureSpec(service, req, reporter, signal);
          reporter.stop();
          return writeFigure(service, req.figure, spec, targets, req as unknown as Record<string, unknown>);
        });
        if (json) printJson({ figure: req.figure, files });
        else
          for (const f of files)
            console.log(`wrote ${f.file} (${f.format}, ${f.bytes.toLocaleString('en-US')} bytes)`);
      } finally {
        reporter.stop();
        service.close();
      }
    });
}
