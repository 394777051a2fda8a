// Top-activating contexts: one row per context, each token on a background whose strength is the
// activation (orange for positive, blue for negative), the focus token outlined. The feature page's main
// panel, as SVG text for export.
import { format } from 'd3';
import {
  captionHeight,
  captionSvg,
  checkNumbers,
  figureDocument,
  headerSvg,
  resolveOptions,
} from './layout.js';
import { el, text } from './svg.js';
import { MONO, textWidth } from './text.js';
import type { TokenContextsData, TokenContextsOptions } from './types.js';

/** A token as shown: newline → ↵, tab → →, other control characters → U+FFFD, spaces kept as no-break spaces. */
export function displayToken(token: string): string {
  return (
    token
      .replace(/\r?\n/g, '↵')
      .replace(/\t/g, '→')
      // eslint-disable-next-line no-control-regex -- control characters have no glyph: show U+FFFD instead
      .replace(/[\u0000-\u001f\u007f]/g, '\ufffd')
      .replace(/ /g, '\u00a0')
  );
}

/** Index of the largest activation (the first one on ties), 0 for an empty list. */
function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * The window [from, to) of tokens around `focus` whose widths (plus ellipses where cut) fit `room` px:
 * grown one token at a time, alternating right and left.
 */
export function visibleWindow(
  widths: number[],
  focus: number,
  room: number,
  ellipsis: number,
): [number, number] {
  let from = focus;
  let to = focus + 1;
  let used = widths[focus] ?? 0;
  const cost = (a: number, b: number, extra: number) =>
    used + extra + (a > 0 ? ellipsis : 0) + (b < widths.length ? ellipsis : 0);
  for (let grew = true; grew;) {
    grew = false;
    if (to < widths.length && cost(from, to + 1, widths[to]) <= room) {
      used += widths[to++];
      grew = true;
    }
    if (from > 0 && cost(from - 1, to, widths[from - 1]) <= room) {
      used += widths[--from];
      grew = true;
    }
  }
  return [from, to];
}

function check(data: TokenContextsData): void {
  if (!data || !Array.isArray(data.contexts))
    throw new Error('tokenContexts: data.contexts must be an array');
  data.contexts.forEach((c, i) => {
    if (!Array.isArray(c.tokens) || !Array.isArray(c.values) || c.tokens.length !== c.values.length) {
      throw new Error(
        `tokenContexts: contexts[${i}] needs as many values as tokens (got ${c.values?.length} and ${c.tokens?.length})`,
      );
    }
    checkNumbers('tokenContexts', `contexts[${i}].values`, c.values);
    if (c.focus !== undefined && !(Number.isInteger(c.focus) && c.focus >= 0 && c.focus < c.tokens.length)) {
      throw new Error(`tokenContexts: contexts[${i}].focus = ${c.focus} is not a token index`);
    }
  });
  if (data.maxValue !== undefined && !(data.maxValue > 0))
    throw new Error(`tokenContexts: data.maxValue must be > 0, got ${data.maxValue}`);
}

/**
 * Top-activating contexts as an SVG string: per row the focus activation, then the tokens highlighted
 * with opacity |value| / maxValue (cut around the focus token to fit the width), and a colour key.
 * The height follows from the number of rows.
 */
export function tokenContexts(data: TokenContextsData, options: TokenContextsOptions = {}): string {
  check(data);
  const probe = resolveOptions('tokenContexts', options, { width: 720, height: 400 });
  const fs = probe.fontSize;
  const theme = probe.theme;
  const pad = fs;
  const rowHeight = Math.round(fs * 1.95);
  const maxValue =
    data.maxValue ?? Math.max(1e-12, ...data.contexts.flatMap((c) => c.values.map((v) => Math.abs(v))));
  const hasNegative = data.contexts.some((c) => c.values.some((v) => v < 0));

  // Height from the content: header, key, rows, caption.
  const header = headerSvg(probe, pad * 0.5);
  const keyTop = header.bottom + fs * 0.6;
  const rowsTop = keyTop + fs * 2.4;
  const height = Math.max(
    options.height ?? 0,
    rowsTop + data.contexts.length * rowHeight + fs * 0.6 + captionHeight(probe) + pad * 0.75,
  );
  const r = { ...probe, height };

  const labels = data.contexts.map(
    (c) => c.label ?? format('.3~g')(c.values[c.focus ?? argmax(c.values)] ?? 0),
  );
  const labelWidth = labels.reduce((w, l) => Math.max(w, textWidth(l, fs)), textWidth('0.00', fs));
  const tokensX = pad + labelWidth + fs;
  const room = r.width - tokensX - pad;
  const charW = textWidth('x', fs, 'mono');
  const ellipsis = charW * 1.5;
  const alphaMax = theme.name === 'dark' ? 0.8 : 0.9;

  const rows: string[] = [];
  data.contexts.forEach((c, i) => {
    const y = rowsTop + i * rowHeight;
    const focus = c.focus ?? argmax(c.values);
    const shown = c.tokens.map(displayToken);
    const widths = shown.map((t) => Math.max(textWidth(t, fs, 'mono'), charW * 0.5));
    const [from, to] = visibleWindow(widths, focus, room, ellipsis);
    const parts: string[] = [];
    if (i % 2 === 1)
      parts.push(
        el('rect', {
          x: pad * 0.5,
          y,
          width: r.width - pad,
          height: rowHeight,
          fill: theme.grid,
          'fill-opacity': 0.35,
        }),
      );
    const baseline = y + rowHeight / 2 + fs * 0.36;
    parts.push(
      text(labels[i], {
        x: pad + labelWidth,
        y: baseline,
        'text-anchor': 'end',
        fill: theme.muted,
        class: 'value',
      }),
    );
    let x = tokensX;
    if (from > 0) {
      parts.push(text('…', { x: x + ellipsis / 2, y: baseline, 'text-anchor': 'middle', fill: theme.muted }));
      x += ellipsis;
    }
    const words: string[] = [];
    for (let k = from; k < to; k++) {
      const v = c.values[k];
      const alpha = Math.min(1, Math.abs(v) / maxValue) * alphaMax;
      const boxY = y + rowHeight * 0.12;
      const boxH = rowHeight * 0.76;
      if (alpha >= 0.02) {
        parts.push(
          el('rect', {
            x,
            y: boxY,
            width: widths[k],
            height: boxH,
            rx: 2,
            fill: v >= 0 ? theme.positive : theme.negative,
            'fill-opacity': alpha,
          }),
        );
      }
      if (k === focus) {
        parts.push(
          el('rect', {
            x: x - 0.5,
            y: boxY - 0.5,
            width: widths[k] + 1,
            height: boxH + 1,
            rx: 2.5,
            fill: 'none',
            stroke: theme.foreground,
            'stroke-width': 1.2,
          }),
        );
      }
      const ink = theme.name === 'dark' && alpha > 0.5 ? '#111317' : theme.foreground;
      words.push(text(shown[k], { x, y: baseline, fill: ink }));
      x += widths[k];
    }
    parts.push(el('g', { 'font-family': MONO, class: 'tokens' }, words));
    if (to < c.tokens.length)
      parts.push(text('…', { x: x + ellipsis / 2, y: baseline, 'text-anchor': 'middle', fill: theme.muted }));
    rows.push(el('g', { class: 'context' }, parts));
  });

  // Colour key: a ramp from 0 to maxValue (and to −maxValue when negatives occur).
  const id = `${r.id}-key`;
  const keyW = Math.min(160, r.width / 4);
  const keyY = keyTop + fs * 0.3;
  const ramp = (colour: string, fromAlpha: number, toAlpha: number, gid: string) =>
    el('linearGradient', { id: gid, x1: 0, y1: 0, x2: 1, y2: 0 }, [
      el('stop', { offset: '0%', 'stop-color': colour, 'stop-opacity': fromAlpha }),
      el('stop', { offset: '100%', 'stop-color': colour, 'stop-opacity': toAlpha }),
    ]);
  const key: string[] = [text('activation', { x: pad, y: keyY + fs * 0.85, fill: theme.muted })];
  let kx = pad + textWidth('activation', fs) + fs * 0.8;
  const maxLabel = format('.3~g')(maxValue);
  if (hasNegative) {
    key.push(ramp(theme.negative, alphaMax, 0, `${id}-neg`));
    key.push(text(`−${maxLabel}`, { x: kx, y: keyY + fs * 0.85, fill: theme.muted }));
    kx += textWidth(`−${maxLabel}`, fs) + fs * 0.4;
    key.push(el('rect', { x: kx, y: keyY, width: keyW / 2, height: fs * 1.1, fill: `url(#${id}-neg)` }));
    kx += keyW / 2;
  } else {
    key.push(text('0', { x: kx, y: keyY + fs * 0.85, fill: theme.muted }));
    kx += textWidth('0', fs) + fs * 0.4;
  }
  key.push(ramp(theme.positive, 0, alphaMax, `${id}-pos`));
  key.push(
    el('rect', {
      x: kx,
      y: keyY,
      width: hasNegative ? keyW / 2 : keyW,
      height: fs * 1.1,
      fill: `url(#${id}-pos)`,
    }),
  );
  kx += (hasNegative ? keyW / 2 : keyW) + fs * 0.4;
  key.push(text(maxLabel, { x: kx, y: keyY + fs * 0.85, fill: theme.muted }));

  const body =
    header.svg +
    el('g', { class: 'key', 'font-size': fs }, key) +
    el('g', { class: 'contexts', 'font-size': fs }, rows) +
    captionSvg(r, r.height - fs * 0.75);
  return figureDocument(r, body);
}
