/** The store room: one SQLite file per project, its repositories, exports. See README.md beside this file. */
export {
  openStore,
  StoreError,
  APPLICATION_ID,
  latestSchemaVersion,
  type Store,
  type OpenStoreOptions,
  type StoreErrorCode,
} from './store.js';
export { openProject, STORE_FILE, type Project } from './project.js';
export type { RunRecord, RunStatus, NewRun, MetricRow, MetricSeries } from './runs.js';
export type { CheckpointInput, CheckpointRecord, RegisterResult } from './checkpoints.js';
export type { StoredProbe, ProbeSummary, ProbeRows } from './probes.js';
export type {
  ActivationDtype,
  RecordingInfo,
  RecordingSettings,
  TapStatistics,
  NeuronStats,
  TapStatsTable,
  Example,
  TopExample,
  QuantileGroup,
  ConceptMean,
  NeuronPage,
} from './activations.js';
export type { Histogram } from '../analysis/histogram.js';
export {
  analysisKey,
  canonicalJson,
  type StoredAnalysis,
  type FigureExport,
  type FigureRecord,
} from './analyses.js';
export { exportActivations, npyHeader, type ExportActivationsOptions } from './export.js';
export { float32ToFloat16Bits, float16BitsToFloat32 } from './float16.js';
