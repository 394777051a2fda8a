// The test XML reader must reject what a real XML parser rejects, or the well-formedness checks mean nothing.
import { describe, expect, it } from 'vitest';
import { allText, parseXml } from './xml.js';

describe('parseXml', () => {
  it('reads elements, attributes, entities and text', () => {
    const root = parseXml('<svg a="1" b=\'x &amp; y\'><g><text>&lt;p&gt; &#169;</text></g><rect/></svg>');
    expect(root.name).toBe('svg');
    expect(root.attrs).toEqual({ a: '1', b: 'x & y' });
    expect(root.children.map((c) => c.name)).toEqual(['g', 'rect']);
    expect(allText(root)).toBe('<p> ©');
  });

  it.each([
    ['<svg><g></svg>', 'closes'],
    ['<svg><g></g>', 'never closed'],
    ['<svg a="1" a="2"/>', 'duplicate'],
    ['<svg a=1/>', 'malformed attribute'],
    ['<svg a="1"b="2"/>', 'spaces'],
    ['<svg>a & b</svg>', 'stray'],
    ['<svg>a < b</svg>', 'bad tag'],
    ['<svg/><svg/>', 'second root'],
    ['<svg a="<"/>', 'stray'],
  ])('rejects %s', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
  });
});
