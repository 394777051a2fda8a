/**
 * `monoscope analyze lens`: the activation-difference lens of two checkpoints (the `diff.lens` operation),
 * printed as one table per layer of the tokens B promotes and suppresses, or as JSON.
 */
import type { Command } from 'commander';
import { callOp, int, printJson } from './cli.js';
import { textTable } from './terminal.js';

/** Adds `lens` to the `analyze` command. */
export function registerLensCommand(analyze: Command): void {
  analyze
    .command('lens')
    .description(
      "Activation-difference lens: mean of B − A of each tap over the probe, read through B's final norm and unembedding",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--a <checkpoint>', 'checkpoint A (the reference, e.g. base)')
    .requiredOption('--b <checkpoint>', 'checkpoint B (e.g. dpo); its head reads the difference')
    .option('--taps <pattern>', 'taps of the residual stream (default blocks.*.resid_post)')
    .option('--top-k <n>', 'promoted and suppressed tokens per layer (default 10)', int('--top-k'))
    .option('--probe <probe>', 'probe set: builtin (the default), a hash or a file')
    .option('--json', 'print JSON (progress goes to stderr)')
    .action(
      async (o: {
        project: string;
        a: string;
        b: string;
        taps?: string;
        topK?: number;
        probe?: string;
        json?: boolean;
      }) => {
        const { project, json, ...input } = o;
        const r = await callOp(project, 'diff.lens', input, { json });
        if (json) return printJson(r);
        console.log(`mean of ${r.b} − ${r.a} over ${r.tokens} probe tokens, read through ${r.b}'s head`);
        for (const l of r.layers) {
          console.log(
            `\n${l.tap}: ‖δ‖ ${l.norm.toPrecision(3)} (‖mean ${r.a}‖ ${l.baseNorm.toPrecision(3)})\n`,
          );
          console.log(
            textTable(
              ['promoted', 'logit', 'suppressed', 'logit'],
              l.promoted.map((p, i) => [p.token, p.logit, l.suppressed[i].token, l.suppressed[i].logit]),
            ),
          );
        }
      },
    );
}
