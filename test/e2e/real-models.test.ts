// Real architectures in the Neurons view: a Pythia-style (gpt_neox) and a Llama-style checkpoint in the
// exact Hugging Face layout (random weights, BF16 in two shards, a real tokenizer.json each: GPT-2's
// byte-level BPE and a SentencePiece-style BPE with byte fallback), recorded on the shipped real-English
// probe (`--probe english`, labelled by the built-in lexicons). Each neuron page shows its top contexts as
// the text they come from (no `Ġ`, `▁` or byte pieces), with the tokens' concept labels on hover.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/main/server.js';
import { createHttpClient, type MonoscopeClient } from '../../src/renderer/api/client.js';
import { openProject } from '../../src/core/store/project.js';
import { recordOp } from '../../src/core/ops/record.js';
import { parseInput } from '../../src/core/api.js';
import { silentReporter } from '../../src/core/ops/progress.js';
import { englishProbeDocuments } from '../../src/core/data/english-probe.js';
import { displayToken } from '../../src/shared/figures/index.js';
import { makeReferenceCheckpoint } from '../unit/model/architectures/reference.js';
import { writeGpt2Tokenizer, writeLlamaTokenizer } from '../fixtures/hf-tokenizers.js';
import { REPO, SCREENSHOTS, buildRenderer, launchChromium, serveCompiled, watchedPage } from './harness.js';

const DIR = join(REPO, 'test-output', 'e2e-real-models');
const MODELS = [
  { name: 'pythia', type: 'gpt_neox', vocab: 50304, tokenizer: writeGpt2Tokenizer },
  { name: 'llama', type: 'llama', vocab: 512, tokenizer: writeLlamaTokenizer },
] as const;
const TAP = 'blocks.1.mlp.post';

describe('Pythia- and Llama-style checkpoints on the real-English probe', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let api: MonoscopeClient;
  const problems: string[] = [];
  // The probe's text with runs of whitespace as one space: every context shown must be a piece of it.
  const source = englishProbeDocuments().join(' ').replace(/\s+/g, ' ');

  beforeAll(async () => {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    const project = openProject(join(DIR, 'project'), { create: true });
    try {
      for (const m of MODELS) {
        const made = makeReferenceCheckpoint(m.type, join(DIR, m.name), {
          dtype: 'BF16',
          shards: 2,
          set: { vocab_size: m.vocab },
        });
        m.tokenizer(made);
        cpSync(made, project.checkpointDir(m.name), { recursive: true });
        await recordOp(
          project,
          parseInput('record', { checkpoint: m.name, probe: 'english', taps: TAP, backend: 'wasm' }),
          silentReporter,
        );
      }
    } finally {
      project.close();
    }
    const rendererDir = await buildRenderer(join(REPO, 'test-output', 'e2e-renderer-real-models'));
    server = await serveCompiled(join(DIR, 'project'), rendererDir);
    api = createHttpClient({ baseUrl: new URL(server.url).origin, token: server.token });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    page = await watchedPage(browser, { viewport: { width: 1300, height: 950 } }, problems);
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(MODELS.map((m) => m.name))(
    '%s: a neuron page reads as English, with concept labels',
    async (name) => {
      const probe = (await api.call('recordings.list')).find((r) => r.checkpoint === name && r.tap === TAP)!;
      const table = await api.call('neurons.table', { checkpoint: name, tap: TAP, probe: probe.probeHash });
      // The neuron whose top contexts carry the most concept labels.
      let best = { neuron: 0, labels: -1 };
      for (let n = 0; n < Math.min(table.neurons, 64); n++) {
        const p = await api.call('neurons.page', {
          ref: { checkpoint: name, tap: TAP, probe: probe.probeHash },
          neuron: n,
        });
        const labels = p.topExamples.reduce((s, e) => s + e.concepts.filter((c) => c !== null).length, 0);
        if (labels > best.labels) best = { neuron: n, labels };
      }
      expect(best.labels).toBeGreaterThan(0);
      const ref = { checkpoint: name, tap: TAP, probe: probe.probeHash };
      const p = await api.call('neurons.page', { ref, neuron: best.neuron });
      // Window starts carry the model's BOS (`<|endoftext|>`, `<s>`): the rest is the probe's text.
      const bos = new Set(['<|endoftext|>', '<s>']);
      for (const ex of p.topExamples) {
        const text = ex.text
          .filter((t) => !bos.has(t))
          .join('')
          .replace(/\s+/g, ' ')
          .trim();
        expect(text).not.toMatch(/[Ġ▁]|\\x[0-9a-f]{2}|<0x/);
        expect(source).toContain(text);
      }

      const url = new URL(server.url);
      url.hash = `#/neurons/${name}/${TAP}/${best.neuron}`;
      await page.goto(url.href);
      await page
        .locator(`article.ms-page[data-loaded="${name}/${TAP}/${best.neuron}"]`)
        .waitFor({ timeout: 60_000 });
      const first = page.locator('.ms-examples').first().locator('.ms-example').first();
      expect(await first.locator('.ms-token').allTextContents()).toEqual(
        p.topExamples[0].text.map(displayToken),
      );
      // Every labelled token of the shown top contexts names its concept on hover.
      const shown = page.locator('.ms-examples').first().locator('.ms-example');
      const tips = await shown
        .locator('.ms-token')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-tip') ?? ''));
      const concepts = p.topExamples
        .slice(0, await shown.count())
        .flatMap((e) => e.concepts)
        .filter((c): c is string => c !== null);
      for (const c of new Set(concepts)) expect(tips.some((t) => t.endsWith(` · ${c}`))).toBe(true);
      // The tap picker offers the model's own taps: Llama's up projection (a gated MLP), no resid_mid for
      // Pythia's parallel blocks.
      const ck = (await api.call('checkpoints.list')).find((c) => c.name === name)!;
      const gated = name === 'llama';
      expect(ck.tapKinds.includes('mlp.pre_linear')).toBe(gated);
      expect(ck.tapKinds.includes('resid_mid')).toBe(gated);
      expect(await page.locator('option[value="blocks.0.mlp.pre_linear"]').count()).toBe(gated ? 1 : 0);
      await page.screenshot({ path: join(SCREENSHOTS, `real-model-${name}-neuron.png`) });
      expect(problems).toEqual([]);
    },
  );
});
