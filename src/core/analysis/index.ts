/**
 * The analysis numerics, as pure functions over in-memory row-major float32 matrices (rows = tokens,
 * cols = neurons or features). Functions that use TF.js (correlation Gram products, covariance, SAEs)
 * need initBackend() from src/core/backend first.
 */
export * from './matrix.js';
export * from './linalg.js';
export * from './correlation.js';
export { pearsonMatrixThreaded } from './gram-threads.js';
export { permutationNullThreaded, evaluateNullStatistic, type NullStatistic } from './null-threads.js';
export * from './sparsity.js';
export * from './monosemanticity.js';
export * from './svcca.js';
export * from './rsa.js';
export * from './nulls.js';
export * from './matching.js';
export * from './dictionary-overlap.js';
export * from './subspaces.js';
export * from './sae.js';
export * from './export.js';
