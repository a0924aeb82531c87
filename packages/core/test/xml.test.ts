import { xmlElementText, xmlElements, xmlText } from '../src/index.js';

describe('xmlText', () => {
  test('resolves the five predefined entities and decimal and hexadecimal character references', () => {
    expect(xmlText('a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;')).toBe(`a & b <c> "d" 'e'`);
    expect(xmlText('&#38;&#x26;&#x1F600;&#233;')).toBe('&&\u{1F600}é');
    // Each reference once: an escaped reference stays a reference.
    expect(xmlText('&amp;lt;')).toBe('&lt;');
  });

  test('leaves text without references, and what is no reference, as it is', () => {
    expect(xmlText('plain/key-1.txt')).toBe('plain/key-1.txt');
    expect(xmlText('a & b &unknown; &#xZZ;')).toBe('a & b &unknown; &#xZZ;');
  });
});

describe('xmlElementText', () => {
  const xml = '<R><Name>n&amp;m</Name><Empty></Empty><Closed/><Size>12</Size><Size>13</Size></R>';

  test('the first element of that name, resolved; empty text is empty', () => {
    expect(xmlElementText(xml, 'Name')).toBe('n&m');
    expect(xmlElementText(xml, 'Size')).toBe('12');
    expect(xmlElementText(xml, 'Empty')).toBe('');
  });

  test('undefined for an absent element, one written empty (<tag/>), or one never closed', () => {
    expect(xmlElementText(xml, 'Missing')).toBeUndefined();
    expect(xmlElementText(xml, 'Closed')).toBeUndefined();
    expect(xmlElementText('<R><Open>text', 'Open')).toBeUndefined();
  });

  test('matches the whole name: <Key> is not <KeyCount>', () => {
    expect(xmlElementText('<KeyCount>3</KeyCount><Key>k</Key>', 'Key')).toBe('k');
  });
});

describe('xmlElements', () => {
  test('every element of that name in order, with its raw contents', () => {
    const xml = '<R><C><K>a</K></C><Other/><C><K>b&amp;c</K></C><C></C></R>';
    expect([...xmlElements(xml, 'C')]).toEqual(['<K>a</K>', '<K>b&amp;c</K>', '']);
  });

  test('none when absent; an element never closed ends the sequence', () => {
    expect([...xmlElements('<R/>', 'C')]).toEqual([]);
    expect([...xmlElements('<R><C>1</C><C>2', 'C')]).toEqual(['1']);
  });
});
