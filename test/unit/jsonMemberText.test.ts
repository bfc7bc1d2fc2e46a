import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memberText } from '../../lib/data/jsonMemberText.ts';

describe('memberText', () => {
  it('gives the source text of a top-level member, as written', () => {
    // Prepare
    const json = '{"vector": [1, 2, 3], "label" : 9007199254740993 , "id": "x"}';
    // Act
    const label = memberText(json, 'label');
    // Assess
    expect(label).toBe('9007199254740993');
    expect(JSON.parse(json).label).toBe(9007199254740992);
  });

  it('skips nested members, strings that look like keys, and takes the last of repeated keys', () => {
    // Prepare
    const json =
      '{"meta": {"label": 1, "x": [[1], {"label": 2}]}, "note": "\\"label\\": 3\\\\", "label": 1.0, "z": [], "label": 1e0}';
    // Act
    const label = memberText(json, 'label');
    // Assess
    expect(label).toBe('1e0');
  });

  it('decodes escaped keys and leaves out absent ones', () => {
    expect(memberText('{"la\\u0062el": 2.50}', 'label')).toBe('2.50');
    expect(memberText('{"id": 1}', 'label')).toBeUndefined();
    expect(memberText('{}', 'label')).toBeUndefined();
  });

  it('finds the text JSON.parse read the value from (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (object, key, value) => {
          // Prepare
          const json = JSON.stringify({ ...object, [key]: value }, null, object.a === undefined ? 0 : 1);
          // Act
          const text = memberText(json, key);
          // Assess
          expect(text).toBeDefined();
          expect(JSON.parse(text!)).toBe(JSON.parse(json)[key]);
        },
      ),
    );
  });
});
