// Building SVG markup as strings: elements, attributes, numbers, and the document root.
import { escapeXml } from './text.js';

export type Attrs = Record<string, string | number | boolean | undefined | null>;

/** A number as an attribute value: at most 2 decimals, no `-0`, no exponent. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`figure: non-finite coordinate ${x}`);
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) || r === 0 ? '0' : String(r);
}

/** ` key="value"` pairs; undefined, null and false are left out, numbers go through `num`. */
export function attrs(a: Attrs): string {
  let out = '';
  for (const [key, value] of Object.entries(a)) {
    if (value === undefined || value === null || value === false) continue;
    const text = typeof value === 'number' ? num(value) : value === true ? key : escapeXml(value);
    out += ` ${key}="${text}"`;
  }
  return out;
}

/** `<tag attrs>children</tag>`, or `<tag attrs/>` without children. Children are already markup. */
export function el(tag: string, a: Attrs, children?: string | string[]): string {
  const inner = Array.isArray(children) ? children.join('') : children;
  return inner === undefined || inner === ''
    ? `<${tag}${attrs(a)}/>`
    : `<${tag}${attrs(a)}>${inner}</${tag}>`;
}

/** A `<text>` element holding escaped `content`. */
export function text(content: string, a: Attrs): string {
  return `<text${attrs(a)}>${escapeXml(content)}</text>`;
}
