/**
 * AdamW (Loshchilov & Hutter, arXiv 1711.05101) over a fixed, ordered list of variables, with global-norm
 * gradient clipping and state that can be saved and restored exactly (for resume):
 *   m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr (m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) + wd p)
 * Weight decay applies to matrices only (rank >= 2), as in nanoGPT.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from '../model/safetensors.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates applied so far. */
  t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly names: string[],
    readonly vars: tf.Variable[],
    opts: AdamWOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /** Applies one update with learning rate `lr`; `grads` are in the order of `vars`. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        if (this.weightDecay > 0 && p.rank >= 2) update = tf.add(update, tf.mul(p, this.weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      });
    });
  }

  /** Moment estimates and step count as named arrays (`m.<name>`, `v.<name>`), for checkpoints. */
  async state(): Promise<{ t: number; arrays: Map<string, NamedArray> }> {
    const arrays = new Map<string, NamedArray>();
    for (let i = 0; i < this.vars.length; i++) {
      arrays.set(`m.${this.names[i]}`, {
        shape: this.m[i].shape,
        data: (await this.m[i].data()) as Float32Array,
      });
      arrays.set(`v.${this.names[i]}`, {
        shape: this.v[i].shape,
        data: (await this.v[i].data()) as Float32Array,
      });
    }
    return { t: this.t, arrays };
  }

  /** Restores {@link state}. */
  load(t: number, arrays: Map<string, NamedArray>): void {
    this.t = t;
    for (let i = 0; i < this.vars.length; i++) {
      for (const [prefix, slot] of [
        ['m', this.m],
        ['v', this.v],
      ] as const) {
        const a = arrays.get(`${prefix}.${this.names[i]}`);
        if (!a) throw new Error(`optimizer state is missing '${prefix}.${this.names[i]}'`);
        slot[i].assign(tf.tensor(a.data, this.vars[i].shape));
      }
    }
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

/**
 * Global L2 norm of the gradients, and the gradients scaled so that the norm is at most `maxNorm`
 * (torch.nn.utils.clip_grad_norm_). Returns new tensors; the caller disposes them.
 */
export function clipByGlobalNorm(
  grads: tf.Tensor[],
  maxNorm: number,
): { norm: tf.Scalar; clipped: tf.Tensor[] } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    if (!(maxNorm > 0)) return { norm, clipped: grads.map((g) => tf.clone(g)) };
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return { norm, clipped: grads.map((g) => tf.mul(g, scale)) };
  });
}

/** Linear warm-up then constant or cosine decay to 10% (nanoGPT). */
export function learningRate(
  step: number,
  opts: { lr: number; warmup: number; total: number; schedule: 'constant' | 'cosine' },
): number {
  const { lr, warmup, total, schedule } = opts;
  if (warmup > 0 && step < warmup) return (lr * (step + 1)) / warmup;
  if (schedule === 'constant') return lr;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return 0.1 * lr + 0.9 * lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
