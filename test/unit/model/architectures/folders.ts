/**
 * Edits of a checkpoint folder for the loader's tests: a changed config.json, and the extra tensors older
 * Hub saves keep beside the parameters.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readSafetensors,
  writeSafetensors,
  type NamedArray,
} from '../../../../src/core/model/safetensors.js';

/** Merges `patch` into the folder's config.json (a null value deletes the field); returns the file's path. */
export function patchConfig(dir: string, patch: Record<string, unknown>): string {
  const file = join(dir, 'config.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete json[k];
    else json[k] = v;
  }
  writeFileSync(file, JSON.stringify(json, null, 2));
  return file;
}

/** Adds zero-filled F32 tensors of the given shapes to the folder's single `model.safetensors`. */
export function addTensors(dir: string, shapes: Record<string, number[]>): string {
  const file = join(dir, 'model.safetensors');
  const { tensors, metadata } = readSafetensors(file);
  const out = new Map<string, NamedArray>(tensors);
  for (const [name, shape] of Object.entries(shapes))
    out.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  writeSafetensors(file, out, metadata);
  return file;
}
