/**
 * `monoscope export sae` and `monoscope import sae`: SAEs and crosscoders out in SAELens's format, and
 * SAELens folders or Gemma Scope `params.npz` files in as SAEs of the project (`sae.export`, `sae.import`).
 */
import { Command, Option } from 'commander';
import { callOp, printJson } from './cli.js';
import { textTable } from './terminal.js';

/** The command group `name` registered on `p` (`export`, `import`). */
function group(p: Command, name: string): Command {
  const g = p.commands.find((c) => c.name() === name);
  if (!g) throw new Error(`the '${name}' command group is not registered yet`);
  return g;
}

/** Adds `sae` to the `export` and `import` groups of `p`. */
export function registerSaeIoCommands(p: Command): void {
  group(p, 'export')
    .command('sae')
    .description(
      "An SAE or crosscoder of the project in SAELens's format (cfg.json and sae_weights.safetensors), its input scale folded into the weights",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--sae <name>', 'the SAE or crosscoder')
    .addOption(new Option('--format <f>', 'file format').choices(['saelens']).default('saelens'))
    .requiredOption('--out <dir>', 'a new or empty folder outside the project’s managed folders')
    .option('--json', 'print the folder and files as JSON')
    .action(async (o: { project: string; sae: string; format: 'saelens'; out: string; json?: boolean }) => {
      const r = await callOp(
        o.project,
        'sae.export',
        { sae: o.sae, format: o.format, out: o.out },
        { json: o.json, readonly: true },
      );
      if (o.json) return printJson(r);
      for (const f of r.files) console.log(`wrote ${f}`);
    });

  group(p, 'import')
    .command('sae')
    .description(
      "A pretrained SAE for a checkpoint's tap: a SAELens folder (standard, topk, batchtopk, jumprelu) or a Gemma Scope params.npz; checked against the tap (d_in, hook) and stored as an SAE of the project",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--from <path>', 'the SAELens folder, or the params.npz (or its folder)')
    .requiredOption('--checkpoint <name>', 'checkpoint (name in the project, or a folder)')
    .requiredOption('--tap <tap>', 'the tap it reads, e.g. blocks.0.resid_post')
    .option('--probe <probe>', 'probe set (default: the built-in one)')
    .requiredOption('--name <name>', 'SAE name (saved under DIR/saes/NAME)')
    .option('--overwrite', 'replace an SAE of this name')
    .option('--json', 'print JSON')
    .action(
      async (o: {
        project: string;
        from: string;
        checkpoint: string;
        tap: string;
        probe?: string;
        name: string;
        overwrite?: boolean;
        json?: boolean;
      }) => {
        const { project, json, ...input } = o;
        const r = await callOp(project, 'sae.import', input, { json });
        if (json) return printJson(r);
        const m = r.metrics;
        console.log(
          textTable(
            ['metric (probe tokens)', 'value'],
            [
              ['L0', m.l0],
              ['explained variance', m.explainedVariance],
              ['MSE', m.mse],
              ['dead fraction', m.deadFraction],
            ],
          ),
        );
        console.log(`\nimported ${r.imported?.architecture} SAE (${r.dIn} x ${r.dSae}) as ${r.dir}`);
      },
    );
}
