// A small strict XML reader for the figure tests: checks well-formedness (one root, matched and nested
// tags, quoted and unique attributes, only the predefined or numeric entities, no stray `<` or `&`) and
// returns the element tree to query.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside this element, entities decoded. */
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;

function decode(raw: string, where: number): string {
  if (/<|&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(raw)) {
    throw new Error(`XML: stray '<' or '&' near offset ${where}: ${JSON.stringify(raw.slice(0, 60))}`);
  }
  return raw
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The root element of `xml`, or an error saying where the document is malformed. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = xml.slice(i, lt < 0 ? xml.length : lt);
    if (chunk.length > 0) {
      if (stack.length === 0) {
        if (chunk.trim() !== '') throw new Error(`XML: text outside the root at offset ${i}`);
      } else {
        stack[stack.length - 1].text += decode(chunk, i);
      }
    }
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) throw new Error(`XML: unclosed comment at offset ${lt}`);
      i = end + 3;
      continue;
    }
    if (xml[lt + 1] === '/') {
      const end = xml.indexOf('>', lt);
      const name = xml.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name)
        throw new Error(`XML: </${name}> at offset ${lt} closes <${open?.name ?? 'nothing'}>`);
      i = end + 1;
      continue;
    }
    const nameMatch = NAME.exec(xml.slice(lt + 1));
    if (!nameMatch) throw new Error(`XML: bad tag at offset ${lt}`);
    const el: XmlElement = { name: nameMatch[0], attrs: {}, children: [], text: '' };
    let j = lt + 1 + nameMatch[0].length;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(j))![0].length;
      j += ws;
      if (xml.startsWith('/>', j) || xml[j] === '>') break;
      if (ws === 0) throw new Error(`XML: attributes of <${el.name}> need spaces between them (offset ${j})`);
      const attr = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(j));
      if (!attr) throw new Error(`XML: malformed attribute in <${el.name}> at offset ${j}`);
      if (attr[1] in el.attrs) throw new Error(`XML: duplicate attribute ${attr[1]} in <${el.name}>`);
      el.attrs[attr[1]] = decode(attr[3] ?? attr[4], j);
      j += attr[0].length;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else if (root) throw new Error(`XML: a second root <${el.name}> at offset ${lt}`);
    else root = el;
    if (xml.startsWith('/>', j)) {
      i = j + 2;
    } else {
      stack.push(el);
      i = j + 1;
    }
  }
  if (stack.length > 0) throw new Error(`XML: <${stack[stack.length - 1].name}> is never closed`);
  if (!root) throw new Error('XML: no root element');
  return root;
}

/** Every element under (and including) `root` that satisfies `pred`, in document order. */
export function findAll(root: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (pred(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** Elements named `name`, optionally with `class` = cls. */
export function byTag(root: XmlElement, name: string, cls?: string): XmlElement[] {
  return findAll(root, (e) => e.name === name && (cls === undefined || e.attrs.class === cls));
}

/** All character data under `e`, concatenated. */
export function allText(e: XmlElement): string {
  return e.text + e.children.map(allText).join('');
}
