// The app's views, in sidebar order, with the key that jumps to each (`g` then the key).

export type ViewId = 'project' | 'compare' | 'neurons' | 'heatmap' | 'features' | 'diff' | 'study';

export interface ViewInfo {
  id: ViewId;
  label: string;
  /** Second key of the `g <key>` shortcut. */
  key: string;
  /** One line on what the view shows. */
  summary: string;
}

export const VIEWS: ViewInfo[] = [
  {
    id: 'project',
    label: 'Project',
    key: 'p',
    summary: 'Runs, checkpoints, probe sets and recordings of the open project.',
  },
  {
    id: 'compare',
    label: 'Compare',
    key: 'c',
    summary: 'Training curves and layer-wise statistics of base, DPO and DecPO side by side.',
  },
  {
    id: 'neurons',
    label: 'Neurons',
    key: 'n',
    summary: 'Per-neuron pages: density, activation histogram, top contexts, mono/poly score.',
  },
  {
    id: 'heatmap',
    label: 'Heatmap',
    key: 'h',
    summary: 'Layer-wide neuron correlation matrices, ordered and compared across checkpoints.',
  },
  {
    id: 'features',
    label: 'Features',
    key: 'f',
    summary: 'SAE features and their matches across checkpoints.',
  },
  {
    id: 'diff',
    label: 'Diff',
    key: 'd',
    summary:
      'Model diffing: crosscoders over 2–3 checkpoints (shared and model-specific latents) and the activation-difference lens.',
  },
  {
    id: 'study',
    label: 'Study',
    key: 's',
    summary:
      "The paper's study: methods × seeds × tasks, live while it runs, with CIs, paired tests and verdicts.",
  },
];

/** The view named by a location hash such as `#/neurons`; Project for anything else. */
export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return VIEWS.some((v) => v.id === id) ? (id as ViewId) : 'project';
}
