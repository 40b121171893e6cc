/**
 * A strict, small XML 1.0 well-formedness parser for tests: one root, balanced tags, quoted
 * unique attributes, only predefined and numeric entities, no characters XML forbids.
 * Throws with the offset of the first problem; returns the element tree.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_.:-]*/;
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  return raw.replace(/&([^;]*);|&/g, (m, body: string | undefined) => {
    if (body === undefined) throw new Error(`bare & at ${at}`);
    if (body in ENTITIES) return ENTITIES[body];
    const num = /^#(\d+)$/.exec(body) ?? null;
    const hex = /^#x([0-9a-fA-F]+)$/.exec(body) ?? null;
    if (num) return String.fromCodePoint(Number(num[1]));
    if (hex) return String.fromCodePoint(parseInt(hex[1], 16));
    throw new Error(`unknown entity ${m} at ${at}`);
  });
}

export function parseXml(xml: string): XmlElement {
  if (FORBIDDEN.test(xml)) throw new Error(`forbidden character at ${xml.search(FORBIDDEN)}`);
  let i = 0;
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i));
      i += ws ? ws[0].length : 0;
      if (xml.startsWith('<?', i)) {
        const end = xml.indexOf('?>', i);
        if (end < 0) throw new Error(`unterminated processing instruction at ${i}`);
        i = end + 2;
      } else if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i);
        if (end < 0) throw new Error(`unterminated comment at ${i}`);
        i = end + 3;
      } else return;
    }
  };
  const parseElement = (): XmlElement => {
    if (xml[i] !== '<') throw new Error(`expected < at ${i}`);
    i++;
    const name = NAME.exec(xml.slice(i))?.[0];
    if (!name) throw new Error(`bad tag name at ${i}`);
    i += name.length;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))?.[0] ?? '';
      i += ws.length;
      if (xml.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (ws === '') throw new Error(`expected whitespace before attribute at ${i}`);
      const an = NAME.exec(xml.slice(i))?.[0];
      if (!an) throw new Error(`bad attribute name at ${i}`);
      i += an.length;
      if (xml[i] !== '=') throw new Error(`expected = at ${i}`);
      i++;
      const q = xml[i];
      if (q !== '"' && q !== "'") throw new Error(`unquoted attribute at ${i}`);
      const end = xml.indexOf(q, i + 1);
      if (end < 0) throw new Error(`unterminated attribute at ${i}`);
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) throw new Error(`< in attribute value at ${i}`);
      if (an in el.attrs) throw new Error(`duplicate attribute ${an} at ${i}`);
      el.attrs[an] = decode(raw, i);
      i = end + 1;
    }
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) throw new Error(`unclosed <${name}>`);
      const text = xml.slice(i, lt);
      if (text.includes(']]>')) throw new Error(`]]> in text at ${i}`);
      el.text += decode(text, i);
      i = lt;
      if (xml.startsWith('</', i)) {
        i += 2;
        const close = NAME.exec(xml.slice(i))?.[0];
        if (close !== name) throw new Error(`</${close}> closes <${name}> at ${i}`);
        i += close.length;
        const rest = /^\s*>/.exec(xml.slice(i));
        if (!rest) throw new Error(`bad end tag at ${i}`);
        i += rest[0].length;
        return el;
      }
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i);
        if (end < 0) throw new Error(`unterminated comment at ${i}`);
        i = end + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i);
        if (end < 0) throw new Error(`unterminated CDATA at ${i}`);
        el.text += xml.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      el.children.push(parseElement());
    }
  };
  skipMisc();
  const root = parseElement();
  skipMisc();
  if (i !== xml.length) throw new Error(`content after the root element at ${i}`);
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}
