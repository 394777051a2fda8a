// The heatmap's frame time while panning and zooming: the Heatmap view of a tap (2,048 or 8,192 neurons in
// the bench projects), then a scripted gesture with the real mouse (wheel zoom in about a point, drag pans, zoom out,
// more drags) while the page records the time between animation frames. Returns the median and 95th
// percentile frame time (ms; 16.7 ms is 60 frames a second), and the times from navigation until the first
// level of the image pyramid is drawn and until every level is coloured.
import type { Browser } from 'playwright-core';
import { median, openView } from './page.js';

export interface HeatmapBenchOptions {
  /** The server's URL, with its token. */
  baseUrl: string;
  checkpoint: string;
  tap: string;
  browser: Browser;
}

/** Runs in the page: records requestAnimationFrame timestamps until `window.__frames.stop` is set. */
const RECORDER = `(() => {
  const f = { times: [], stop: false };
  window.__frames = f;
  const tick = (t) => { f.times.push(t); if (!f.stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`;

/** Median and p95 ms between animation frames while the heatmap is zoomed and panned; ms until coloured. */
export async function heatmapFrameMs(
  o: HeatmapBenchOptions,
): Promise<{ medianMs: number; p95Ms: number; frames: number; firstDrawMs: number; colouredMs: number }> {
  const { context, page } = await openView(
    o.browser,
    o.baseUrl,
    `#/heatmap/${encodeURIComponent(o.checkpoint)}/${encodeURIComponent(o.tap)}`,
    { viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 },
  );
  try {
    // The first visit may compute the correlation matrix (then kept in the store): allow minutes.
    await page.waitForSelector('canvas.ms-hm-canvas[data-level]', { timeout: 600_000 });
    const firstDrawMs = await page.evaluate(() => performance.now());
    await page.waitForSelector('canvas.ms-hm-canvas[data-ready]', { timeout: 600_000 });
    const colouredMs = await page.evaluate(() => performance.now());
    const box = (await page.locator('canvas.ms-hm-canvas').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const intervals: number[] = [];
    for (let round = 0; round < 3; round++) {
      await page.mouse.move(cx - box.width * 0.2, cy - box.height * 0.15);
      await page.evaluate(RECORDER);
      // Zoom in towards a point, pan around, zoom out, pan again.
      for (let i = 0; i < 40; i++) await page.mouse.wheel(0, -60);
      await page.mouse.down();
      await page.mouse.move(cx + box.width * 0.2, cy + box.height * 0.1, { steps: 60 });
      await page.mouse.move(cx - box.width * 0.1, cy - box.height * 0.2, { steps: 60 });
      await page.mouse.up();
      for (let i = 0; i < 25; i++) await page.mouse.wheel(0, 60);
      await page.mouse.down();
      await page.mouse.move(cx + box.width * 0.15, cy + box.height * 0.15, { steps: 60 });
      await page.mouse.up();
      for (let i = 0; i < 15; i++) await page.mouse.wheel(0, 60);
      const times = (await page.evaluate(
        '(() => { window.__frames.stop = true; return window.__frames.times; })()',
      )) as number[];
      for (let i = 1; i < times.length; i++) intervals.push(times[i] - times[i - 1]);
    }
    if (intervals.length < 30)
      throw new Error(`heatmapFrameMs: only ${intervals.length} frames were recorded`);
    const sorted = [...intervals].sort((a, b) => a - b);
    const level = await page.locator('canvas.ms-hm-canvas').getAttribute('data-size');
    process.stderr.write(
      `bench:ui heatmap: ${level}² cells, ${intervals.length} frames, median ${median(intervals).toFixed(1)} ms, ` +
        `p90 ${sorted[Math.floor(0.9 * sorted.length)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms\n`,
    );
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      medianMs: round(median(intervals)),
      p95Ms: round(sorted[Math.floor(0.95 * sorted.length)]),
      frames: intervals.length,
      firstDrawMs: Math.round(firstDrawMs),
      colouredMs: Math.round(colouredMs),
    };
  } finally {
    await context.close();
  }
}
