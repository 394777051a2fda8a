/**
 * CLI commands that work on a project folder: demo, train, generate, eval, checkpoints, import. Each parses
 * its flags into its operation's input and calls the service ({@link callOp}); flags left out take the
 * schema's defaults.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OpInput, OpResult } from '../core/api.js';
import { formatBytes } from '../core/model/memory.js';
import type { UniversalityResult } from '../core/ops/universality.js';
import { isFolderRef } from '../core/ops/checkpoints.js';
import { STAGES } from '../core/train/loop.js';
import { TAP_KINDS, TASK_NAMES } from '../core/names.js';
import { REGULARIZERS } from '../core/train/regularizers.js';
import { backendOption, callOp, evalFolders, int, num, printJson, projectDir } from './cli.js';
import { textTable } from './terminal.js';
import { printCompare } from './cli-analysis.js';
import { printCrosscoder } from './cli-crosscoder.js';

/** The universality table: one row per layer pair. */
function printUniversality(u: UniversalityResult): void {
  console.log(`\nSAEs (TopK, residual stream), held-out tokens:\n`);
  console.log(
    textTable(
      ['SAE', 'tap', 'explained var.', 'L0', 'dead'],
      u.saes.map((s) => [s.name, s.tap, s.explainedVariance, s.l0, s.deadFraction]),
    ),
  );
  console.log(
    `\nMatched SAE features, ${u.modelA} vs ${u.modelB}: decoder rows of the kept pairs, SVCCA (99% variance) and RSA, each against ${u.shuffles} shuffles; p = (1 + #null >= obs)/(1 + N), q = Benjamini-Hochberg over the layer pairs.\n`,
  );
  console.log(
    textTable(
      ['layer A', 'layer B', 'kept/pairs', 'mean r', 'svcca', 'null', 'q', 'k A/B', 'rsa', 'null', 'q'],
      u.pairs.map((p) => [
        p.layerA,
        p.layerB,
        `${p.kept}/${p.pairsBefore}`,
        p.meanR,
        p.svcca,
        p.svccaNullMean,
        p.svccaQ,
        `${p.kA}/${p.kB}`,
        p.rsa,
        p.rsaNullMean,
        p.rsaQ,
      ]),
    ),
  );
  console.log(`\nCrosscoder ${u.diffing.crosscoder.name} (${u.diffing.crosscoder.tap}):\n`);
  printCrosscoder(u.diffing.crosscoder, u.diffing.findings);
}

/** A parameter count as people say it: 124.4M, 1.24B. */
function formatCount(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : `${(n / 1e3).toFixed(1)}K`;
}

/** What a checkpoint's LoRA adapter is, from its config: `r=8 q_proj,v_proj on BASE`, or `-`. */
function adapterCell(c: OpResult<'checkpoints.add'>): string {
  const lora = (c.config as { lora?: { r: number; targets: string[] } }).lora;
  return lora ? `r=${lora.r} ${lora.targets.join(',')} on ${c.parent ?? '?'}` : '-';
}

/** The checkpoints table: what each is (an adapter: its rank, targets and base), and where its weights are read from. */
function printCheckpoints(list: OpResult<'checkpoints.add'>[]): void {
  if (list.length === 0) return console.log('no checkpoints yet');
  console.log(
    textTable(
      ['name', 'arch', 'params', 'dtype', 'size', 'stage', 'weights', 'lora'],
      list.map((c) => [
        c.name,
        c.arch ?? '?',
        c.params === null ? '?' : formatCount(c.params),
        c.dtype ?? '?',
        c.bytes === null ? '?' : formatBytes(c.bytes),
        c.stage,
        c.source ? (c.copied ? `copied from ${c.source}` : c.source) : 'project',
        adapterCell(c),
      ]),
    ),
  );
}

export function registerProjectCommands(p: Command): void {
  const checkpoints = p
    .command('checkpoints')
    .description(
      'List the checkpoints of a project (architecture, parameters, dtype, size), or add a checkpoint folder',
    );
  checkpoints
    .command('list', { isDefault: true })
    .description('List the checkpoints of a project (the default)')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--json', 'print JSON')
    .action(async (o: { project: string; json?: boolean }) => {
      const list = await callOp(o.project, 'checkpoints.list', {}, { readonly: true });
      if (o.json) return printJson(list);
      printCheckpoints(list);
    });
  checkpoints
    .command('add')
    .description(
      'Register a checkpoint folder (Hugging Face layout) in the project by its content hash; other commands do this on first use',
    )
    .argument('<dir>', 'checkpoint folder, or a PEFT LoRA adapter folder')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option(
      '--copy',
      "copy the weights into the project's checkpoints/ instead of reading them where they are",
    )
    .option(
      '--base <dir-or-name>',
      "an adapter's base checkpoint, when the adapter folder does not locate it (base_model_name_or_path is not a folder here)",
    )
    .option('--json', 'print JSON')
    .action(async (dir: string, o: { project: string; copy?: boolean; base?: string; json?: boolean }) => {
      // A bare folder name is a path here, not a checkpoint name.
      const path = dir.includes('/') || dir.includes('\\') ? dir : `./${dir}`;
      const input = { path, copy: o.copy, base: o.base };
      const r = await callOp(o.project, 'checkpoints.add', input, { json: o.json });
      if (o.json) return printJson(r);
      printCheckpoints([r]);
    });

  p.command('import')
    .description('Bring in work done elsewhere')
    .command('run')
    .description(
      "A run trained elsewhere (TRL, transformers' Trainer): its trainer_state.json's curves under their TRL names, and its checkpoint or PEFT adapter",
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption(
      '--trainer-state <file>',
      'the trainer_state.json (in the output folder or any checkpoint-N/)',
    )
    .requiredOption('--name <name>', 'name of the run in the project')
    .option(
      '--checkpoint <dir>',
      'the checkpoint or PEFT adapter folder it wrote, registered and linked to the run',
    )
    .addOption(
      new Option('--stage <stage>', 'stage (default: dpo when it logs rewards/*, else sft)').choices(STAGES),
    )
    .option('--json', 'print JSON')
    .action(
      async (o: {
        project: string;
        trainerState: string;
        name: string;
        checkpoint?: string;
        stage?: (typeof STAGES)[number];
        json?: boolean;
      }) => {
        // A bare folder name is a path here, not a checkpoint name.
        const checkpoint = o.checkpoint && (isFolderRef(o.checkpoint) ? o.checkpoint : `./${o.checkpoint}`);
        const r = await callOp(
          o.project,
          'runs.import',
          { name: o.name, trainerState: o.trainerState, checkpoint, stage: o.stage },
          { json: o.json },
        );
        if (o.json) return printJson(r);
        console.log(
          `run '${r.run.id}' (${r.run.stage}, ${r.run.status}): ${r.steps} steps, ${r.values} values${r.checkpoint ? `; checkpoint '${r.checkpoint.name}'` : ''}`,
        );
        if (r.checkpoint) printCheckpoints([r.checkpoint]);
      },
    );

  p.command('demo')
    .description(
      'The main job on the built-in world: pretrain a small GPT, then DPO and DecPO on `toxicity`, and compare them',
    )
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .option('--quick', 'a much smaller run (about a minute), for tests')
    .option(
      '--universality',
      'instead: a second base model of another size and seed; SVCCA/RSA of matched SAE features by layer pair, against a null',
    )
    .option(
      '--model <dir>',
      'instead of pretraining: fine-tune this checkpoint (folder or name) with LoRA DPO and DecPO on toxicity',
    )
    .option('--probe <probe>', "with --model: the comparison's probe set (english, or a text file)")
    .option('--seed <n>', 'seed (default 0)', int('--seed'))
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .addOption(backendOption())
    .action(
      async (o: {
        project: string;
        quick?: boolean;
        universality?: boolean;
        model?: string;
        probe?: string;
        seed?: number;
        json?: boolean;
        backend?: 'auto';
      }) => {
        if (o.universality && o.model)
          throw new InvalidArgumentError('--model does not apply to --universality');
        const input = { quick: o.quick, seed: o.seed, backend: o.backend };
        const started = Date.now();
        const finished = () => `Finished in ${((Date.now() - started) / 1000).toFixed(0)} s.`;
        const opts = { json: o.json, progress: process.stdout };
        if (o.universality) {
          const u = await callOp(o.project, 'universality', input, opts);
          if (o.json) return printJson(u);
          printUniversality(u);
          console.log(finished());
          return;
        }
        const r = await callOp(o.project, 'demo', { ...input, model: o.model, probe: o.probe }, opts);
        if (o.json) return printJson(r);
        printCompare(r.comparison);
        console.log(`\nCheckpoints in ${r.project}/checkpoints/{${Object.keys(r.checkpoints).join(',')}}`);
        console.log(finished());
      },
    );

  p.command('train')
    .description('Train or fine-tune a model: pretrain, sft, dpo, decpo, simpo, l1')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--name <name>', 'name of the checkpoint (and run) to produce')
    .addOption(new Option('--stage <stage>', 'training stage').choices([...STAGES]).makeOptionMandatory())
    .addOption(new Option('--task <task>', 'built-in preference task').choices(TASK_NAMES))
    .option('--pairs <file>', 'preference JSONL {"prompt","chosen","rejected"} instead of the built-in task')
    .option('--corpus <file>', 'plain-text corpus for pretraining instead of the built-in world')
    .option('--init <checkpoint>', 'parent checkpoint (name in the project, or a folder)')
    .option('--ref <checkpoint>', 'reference checkpoint for DPO-family stages (default: the parent)')
    .option('--steps <n>', 'training steps', int('--steps'))
    .option('--batch-size <n>', 'examples (pairs) per step', int('--batch-size'))
    .option('--lr <x>', 'learning rate', num('--lr'))
    .option('--warmup <n>', 'warm-up steps', int('--warmup'))
    .option('--seed <n>', 'seed (default 0)', int('--seed'))
    .option('--beta <x>', 'DPO/SimPO beta', num('--beta'))
    .addOption(new Option('--loss-type <t>', 'DPO loss').choices(['sigmoid', 'hinge', 'ipo']))
    .option('--label-smoothing <x>', 'conservative DPO label smoothing', num('--label-smoothing'))
    .addOption(
      new Option(
        '--logp-agg <a>',
        'response log-probs summed (standard) or averaged per token (the DecPO authors)',
      ).choices(['sum', 'mean']),
    )
    .addOption(new Option('--regularizer <r>', 'DecPO regularizer').choices([...REGULARIZERS]))
    .option('--lambda <x>', 'DecPO / L1 weight', num('--lambda'))
    .option('--layer <i>', 'block whose MLP neurons are regularized (and monitored)', int('--layer'))
    .addOption(
      new Option(
        '--tap <t>',
        'activation the regularizer reads (default mlp.pre_linear for gated MLPs, else mlp.post)',
      ).choices([...TAP_KINDS]),
    )
    .option('--simpo-gamma <x>', 'SimPO target margin', num('--simpo-gamma'))
    .option('--n-layer <n>', 'pretrain: blocks', int('--n-layer'))
    .option('--n-embd <n>', 'pretrain: d_model', int('--n-embd'))
    .option('--n-head <n>', 'pretrain: heads', int('--n-head'))
    .option('--n-inner <n>', 'pretrain: d_mlp', int('--n-inner'))
    .option('--n-ctx <n>', 'pretrain: context length', int('--n-ctx'))
    .option(
      '--examples <n>',
      'built-in world: documents (pretrain) or pairs (preference) to generate',
      int('--examples'),
    )
    .option(
      '--max-length <n>',
      'preference pairs: tokens of prompt + longer response, as TRL (default min(512, context))',
      int('--max-length'),
    )
    .option(
      '--max-prompt-length <n>',
      'preference pairs: prompt tokens kept from the end, as TRL (default min(128, max length / 2))',
      int('--max-prompt-length'),
    )
    .option('--eval-every <n>', 'held-out evaluation every N steps', int('--eval-every'))
    .option('--checkpoint-every <n>', 'resumable state every N steps', int('--checkpoint-every'))
    .option(
      '--snapshot-every <n>',
      'also write checkpoint NAME-stepN every N steps (the last step apart)',
      int('--snapshot-every'),
    )
    .option(
      '--threads <n>',
      'wasm: matrix products on 1 or 2 threads (default 2 with 2+ cores)',
      int('--threads'),
    )
    .option('--restart', 'discard an earlier run of this name and start over')
    .option('--lora', 'fine-tune a LoRA adapter on the frozen parent (written in PEFT layout)')
    .option('--lora-r <n>', 'LoRA rank (default 8)', int('--lora-r'))
    .option('--lora-alpha <x>', 'LoRA alpha (default 16; scale alpha/r)', num('--lora-alpha'))
    .option('--lora-dropout <x>', 'LoRA dropout (default 0.05)', num('--lora-dropout'))
    .option(
      '--lora-targets <list>',
      "comma-separated module names (default: q_proj,v_proj,up_proj or the architecture's equivalent)",
      (v: string) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
    )
    .option('--lora-rslora', 'rsLoRA: scale alpha/sqrt(r)')
    .option('--merge', 'LoRA: also write the merged model as checkpoint NAME-merged')
    .option(
      '--micro-batch <n>',
      'examples per micro-batch (gradient accumulation over batch-size/micro-batch)',
      int('--micro-batch'),
    )
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .addOption(backendOption())
    .action(async (o: { project: string; json?: boolean } & Record<string, unknown>) => {
      // Every other flag is named as the input field it sets; the model shape is the nested `model`.
      const { project, json, nLayer, nEmbd, nHead, nInner, nCtx, ...flags } = o;
      const shape = { nLayer, nEmbd, nHead, nInner, nCtx };
      const model = Object.fromEntries(Object.entries(shape).filter(([, v]) => v !== undefined));
      const input = { ...flags, ...(Object.keys(model).length ? { model } : {}) } as OpInput<'train'>;
      const r = await callOp(project, 'train', input, { json, progress: process.stdout });
      if (json) printJson(r);
      else if (r.status === 'completed') {
        console.log(`\n${input.stage} '${input.name}' done: ${r.step} steps. Checkpoint ${r.checkpointDir}`);
        if (r.merged) console.log(`Merged model: checkpoint '${r.merged}'`);
        if (r.lastEval) console.log(textTable(['held-out metric', 'value'], Object.entries(r.lastEval)));
      }
      if (r.status === 'cancelled') {
        process.stderr.write(`monoscope: ${r.message}\n`);
        process.exitCode = 130;
      } else if (r.status === 'failed') {
        process.stderr.write(`monoscope: ${r.message}\n`);
        process.exitCode = 1;
      }
    });

  p.command('generate')
    .description('Sample continuations of prompts from a checkpoint')
    .option('--project <dir>', 'project folder', 'monoscope-demo')
    .requiredOption('--checkpoint <name>', 'checkpoint (name in the project, or a folder)')
    .requiredOption('--prompt <text...>', 'one or more prompts')
    .option('--max-new-tokens <n>', 'tokens to sample (default 24)', int('--max-new-tokens'))
    .option('--temperature <x>', 'sampling temperature, 0 = greedy (default 1)', num('--temperature'))
    .option('--top-k <n>', 'sample among the k most likely tokens, 0 = all (default 0)', int('--top-k'))
    .option('--samples <n>', 'continuations per prompt (default 1)', int('--samples'))
    .option('--seed <n>', 'seed (default 0)', int('--seed'))
    .option('--json', 'print JSON')
    .addOption(backendOption())
    .action(
      async (o: {
        project: string;
        checkpoint: string;
        prompt: string[];
        maxNewTokens?: number;
        temperature?: number;
        topK?: number;
        samples?: number;
        seed?: number;
        json?: boolean;
        backend?: 'auto';
      }) => {
        const { project, json, prompt, ...flags } = o;
        const r = await callOp(project, 'generate', { ...flags, prompts: prompt }, { json });
        if (json) return printJson(r);
        for (const g of r.generations) console.log(`${g.prompt} \x1b[1m${g.continuation}\x1b[0m`);
      },
    );

  p.command('eval')
    .description(
      'Score preference pairs with a policy and a reference: per-pair log-probs, then reward metrics',
    )
    .option(
      '--project <dir>',
      'project folder (for checkpoint names; two folders are scored without one when there is none)',
      'monoscope-demo',
    )
    .requiredOption('--policy <checkpoint>', 'policy checkpoint (name in the project, or a folder)')
    .requiredOption('--ref <checkpoint>', 'reference checkpoint (name in the project, or a folder)')
    .requiredOption('--pairs <file>', 'preference JSONL {"prompt","chosen","rejected"}')
    .option('--beta <x>', 'DPO beta for the rewards, > 0 (default 0.1)', num('--beta'))
    .option('--json', 'print JSON (progress goes to stderr)')
    .addOption(backendOption())
    .action(
      async (o: {
        project: string;
        policy: string;
        ref: string;
        pairs: string;
        beta?: number;
        json?: boolean;
        backend?: 'auto';
      }) => {
        const { project, json, ...input } = o;
        // Two folders need no project: without one there, they are scored as they are.
        const projectless =
          isFolderRef(input.policy) &&
          isFolderRef(input.ref) &&
          !existsSync(join(projectDir(project), 'monoscope.db'));
        const r = projectless
          ? await evalFolders(input, { json })
          : await callOp(project, 'eval', input, { json });
        if (json) return printJson(r);
        console.log(
          textTable(
            ['pair', 'policy logp w', 'policy logp l', 'ref logp w', 'ref logp l', 'margin'],
            r.pairs
              .slice(0, 20)
              .map((x) => [
                x.index,
                x.policy_chosen_logp,
                x.policy_rejected_logp,
                x.ref_chosen_logp,
                x.ref_rejected_logp,
                x.margin,
              ]),
          ),
        );
        if (r.pairs.length > 20) console.log(`... ${r.pairs.length - 20} more (use --json for all)`);
        console.log(`\n${textTable(['metric', 'value'], Object.entries(r.summary))}`);
      },
    );
}
