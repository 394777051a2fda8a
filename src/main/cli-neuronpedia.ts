/**
 * `monoscope export neuronpedia`: an SAE's or a crosscoder's feature pages in Neuronpedia's export layout
 * (`ops/neuronpedia.ts`), into a new or empty folder outside the project's managed folders; a crosscoder's
 * for one of its models (`--checkpoint`, default its first).
 */
import { Command, InvalidArgumentError } from 'commander';
import { callOp, int, printJson } from './cli.js';

/** `--latents 0,5,17`: latent indices. */
function latentList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new InvalidArgumentError(`--latents must be comma-separated latent indices, got '${v}'`);
  return parts.map(Number);
}

/** Registers `export neuronpedia` under the `export` command. */
export function registerNeuronpediaCommand(exp: Command): void {
  exp
    .command('neuronpedia')
    .description(
      "An SAE's or a crosscoder's feature pages in Neuronpedia's export layout (features and activations as gzipped JSONL, with the model, source set, source and release records), ready to upload; a crosscoder's for one of its models (--checkpoint): export once per model",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--sae <name>', 'the SAE or crosscoder')
    .option(
      '--checkpoint <name>',
      "a crosscoder's model whose pages to write: the shared activations, that model's logits (default: its first)",
    )
    .requiredOption('--out <dir>', 'a new or empty folder outside the project')
    .option(
      '--latents <list>',
      'latents to export, e.g. 0,5,17 (default: every latent that fires)',
      latentList,
    )
    .option('--top-k <n>', 'top activating contexts per latent (default 20)', int('--top-k'))
    .option('--json', 'print JSON (progress goes to stderr)')
    .action(
      async (o: {
        project: string;
        sae: string;
        checkpoint?: string;
        out: string;
        latents?: number[];
        topK?: number;
        json?: boolean;
      }) => {
        const r = await callOp(
          o.project,
          'neuronpedia.export',
          { sae: o.sae, checkpoint: o.checkpoint, out: o.out, latents: o.latents, topK: o.topK },
          o,
        );
        if (o.json) return printJson(r);
        console.log(`wrote ${r.latents} feature pages to ${r.dir}:`);
        for (const f of r.files) console.log(`  ${f}`);
      },
    );
}
