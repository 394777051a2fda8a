/**
 * SAEs in and out. `sae.export` writes an SAE or a crosscoder of the project as a SAELens folder
 * (analysis/saelens.ts) into a new or empty folder outside the project's managed files. `sae.import` reads a
 * SAELens folder or a Gemma Scope `params.npz` (analysis/gemma-scope.ts), checks it against the tap it is
 * for (d_in, and the hook when the files name one), and stores it as an ordinary SAE of the project
 * (`DIR/saes/NAME`, the `sae` record), evaluated on the probe, so matching, SVCCA/RSA and feature pages use
 * it as they use a trained one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { evaluateSae, loadSae, saveSae, takeRows } from '../analysis/index.js';
import {
  crosscoderSaeLensFiles,
  readSaeLens,
  saeLensFiles,
  type ImportedSae,
  type SaeLensFiles,
} from '../analysis/saelens.js';
import { readGemmaScope } from '../analysis/gemma-scope.js';
import { canonicalTap } from '../model/models.js';
import { serializeSafetensors } from '../model/safetensors.js';
import { checkFreshFolder, writeAll, writeUserFiles } from '../store/files.js';
import { withLock } from '../store/locks.js';
import { canonicalJson } from '../store/analyses.js';
import { ApiError, type OpParsed } from '../api.js';
import type { Project } from '../store/project.js';
import type { CrosscoderRecord } from '../diff/types.js';
import { loadTap, tapKey, usableRows } from './tap.js';
import { dropAnalysesOfSae, getSae, reuseStored, saeWeightsHash, type SaeRecord } from './sae.js';
import { silentReporter, type Reporter } from './progress.js';

/** Tokens of the longest sequence of a probe set (SAELens's `context_size`). */
function contextSize(project: Project, probeHash: string): number {
  const probe = project.store.probes.get(probeHash);
  return Math.max(0, ...(probe?.sequences ?? []).map((s) => s.ids.length));
}

/** The SAELens files of the SAE or crosscoder named `name`. */
function exportedFiles(project: Project, name: string): SaeLensFiles {
  const sae = getSae(project, name);
  if (sae)
    return saeLensFiles(loadSae(sae.dir), {
      modelName: sae.ref.checkpoint,
      tap: sae.ref.tap,
      contextSize: contextSize(project, sae.source.probeHash),
      extra: { monoscope: { sae: name, ...sae.source, ...(sae.imported && { imported: sae.imported }) } },
    });
  const cc = project.store.analyses.get<CrosscoderRecord>('crosscoder', { name })?.result;
  if (cc)
    return crosscoderSaeLensFiles(cc.dir, {
      tap: cc.tap,
      contextSize: contextSize(project, cc.sources[0].probeHash),
      extra: { monoscope: { crosscoder: name, sources: cc.sources } },
    });
  throw new ApiError('not-found', `no SAE or crosscoder named '${name}' in ${project.dir}`);
}

/**
 * Writes the SAE or crosscoder `req.sae` as `cfg.json` and `sae_weights.safetensors` in `req.out` (a new or
 * empty folder outside the project's managed files), atomically; returns the folder and the files.
 */
export async function saeExportOp(
  project: Project,
  req: OpParsed<'sae.export'>,
  reporter: Reporter = silentReporter,
): Promise<{ dir: string; files: string[] }> {
  const dir = resolve(req.out);
  const files = [join(dir, 'cfg.json'), join(dir, 'sae_weights.safetensors')];
  checkFreshFolder(dir);
  const { cfg, tensors } = exportedFiles(project, req.sae);
  const weights = serializeSafetensors(tensors, { format: 'pt' });
  writeUserFiles([
    { file: files[0], write: (fd) => writeAll(fd, JSON.stringify(cfg, null, 2) + '\n') },
    { file: files[1], write: (fd) => writeAll(fd, weights) },
  ]);
  reporter.message(`wrote '${req.sae}' in SAELens's format to ${dir}`);
  return { dir, files };
}

/**
 * Reads `from`: a `.npz` file (Gemma Scope), a folder with cfg.json (SAELens) or with params.npz. What is
 * wrong in the files is bad input (the readers' errors name the file and the field or tensor).
 */
function readImport(from: string): ImportedSae {
  const path = resolve(from);
  if (!existsSync(path)) throw new ApiError('not-found', `${path} does not exist`);
  const read = (): ImportedSae => {
    if (!statSync(path).isDirectory()) return readGemmaScope(path);
    if (existsSync(join(path, 'cfg.json'))) return readSaeLens(path);
    if (existsSync(join(path, 'params.npz'))) return readGemmaScope(join(path, 'params.npz'));
    throw new Error(
      `${path} holds neither a SAELens SAE (cfg.json and sae_weights.safetensors) nor a Gemma Scope params.npz`,
    );
  };
  try {
    return read();
  } catch (e) {
    throw new ApiError('invalid-input', (e as Error).message);
  }
}

/** sha256 (hex) of files' contents, in order. */
function filesHash(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
}

/**
 * Imports an SAE for `req.checkpoint`'s `req.tap` under `req.name`: its d_in must be the tap's width and the
 * hook its files name (if any) the tap, else a clear error names the file and field. The same name, tap
 * and files return the existing SAE; other files or another tap under a name in use are refused unless
 * `overwrite`, which also drops what was computed from the old weights.
 */
export async function saeImportOp(
  project: Project,
  req: OpParsed<'sae.import'>,
  reporter: Reporter = silentReporter,
  signal?: AbortSignal,
): Promise<SaeRecord> {
  const started = performance.now();
  const imp = readImport(req.from);
  const ref = { checkpoint: req.checkpoint, tap: req.tap, probe: req.probe };
  if (imp.hook && canonicalTap(imp.hook.name) !== canonicalTap(req.tap))
    throw new ApiError(
      'invalid-input',
      `${imp.hook.from} is '${imp.hook.name}', which is not the tap ${req.tap}; import it for the tap it was trained on`,
    );
  const t = await loadTap(project, ref, reporter, signal);
  const { sae } = imp;
  if (sae.config.dIn !== t.x.cols)
    throw new ApiError(
      'invalid-input',
      `${imp.dInFrom} gives d_in ${sae.config.dIn}, but ${req.checkpoint} ${req.tap} has ${t.x.cols} columns`,
    );
  const source = tapKey(t.rec);
  const hash = filesHash(imp.files);
  return withLock(project.dir, 'sae', req.name, async () => {
    const dir = join(project.saesDir, req.name);
    const old = getSae(project, req.name);
    if (old) {
      const same =
        canonicalJson({ source, hash }) ===
        canonicalJson({ source: old.source, hash: old.imported?.filesHash });
      const refusal = `an SAE named '${req.name}' exists, from other files or for another tap; pick another name, or overwrite it (--overwrite) to replace it and drop what was computed from it`;
      if (reuseStored(old, dir, same, req.overwrite, refusal)) return old;
      if (old.weightsHash) dropAnalysesOfSae(project, old.weightsHash);
    }
    const metrics = evaluateSae(sae, takeRows(t.x, usableRows(t)));
    const imported = {
      format: imp.format,
      files: imp.files,
      architecture: imp.architecture,
      filesHash: hash,
      ...(imp.hook && { hookName: imp.hook.name }),
      ...(imp.modelName !== undefined && { modelName: imp.modelName }),
    };
    mkdirSync(project.saesDir, { recursive: true });
    saveSae(dir, sae, {
      tap: req.tap,
      checkpoint: req.checkpoint,
      checkpointHash: t.rec.checkpointHash,
      probeHash: t.rec.probeHash,
      imported,
    });
    const { kind, dIn, dSae, k } = sae.config;
    const record: SaeRecord = {
      name: req.name,
      dir,
      ref,
      kind,
      dIn,
      dSae,
      source,
      settings: {
        kind,
        latents: dSae,
        steps: 0,
        batchSize: 0,
        lr: 0,
        seed: 0,
        ...(kind === 'topk' && { k }),
      },
      weightsHash: saeWeightsHash(dir),
      metrics,
      curve: [],
      seconds: (performance.now() - started) / 1000,
      tokensPerS: 0,
      imported,
    };
    project.store.analyses.put('sae', { name: req.name }, record);
    reporter.message(`imported ${basename(imp.files[0])} (${imp.architecture}) as SAE '${req.name}'`);
    return record;
  });
}
