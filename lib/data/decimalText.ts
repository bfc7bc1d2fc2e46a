/**
 * Decimal numbers written as text, compared exactly: by their decimal value, never as float64 (where
 * 9007199254740992 and 9007199254740993, or 0 and 1e-400, are equal). Used to order numeric labels as
 * numpy.unique does and to recognise the label -1 (unlabelled) in any spelling.
 */

/** A decimal number as numpy's float() reads one: optional sign, digits with an optional point, exponent. */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A decimal's value as sign x 0.digits x 10^exponent, digits without leading or trailing zeros ('' = zero). */
interface DecimalValue {
  readonly negative: boolean;
  readonly digits: string;
  readonly exponent: bigint;
}

/** True when the whole text is a decimal number (no surrounding spaces, at least one digit). */
export function isDecimalText(text: string): boolean {
  const match = DECIMAL.exec(text);
  return match !== null && (match[2].length > 0 || (match[3] ?? '').length > 0);
}

/** The exact value of a decimal text (call only when isDecimalText holds). */
export function decimalValue(text: string): DecimalValue {
  const [, sign, whole, fraction = '', exponent = '0'] = DECIMAL.exec(text)!;
  const all = whole + fraction;
  let first = 0;
  while (first < all.length && all.charCodeAt(first) === 48) first++;
  let last = all.length;
  while (last > first && all.charCodeAt(last - 1) === 48) last--;
  const digits = all.slice(first, last);
  return {
    negative: sign === '-' && digits !== '',
    digits,
    exponent: digits === '' ? 0n : BigInt(exponent) + BigInt(whole.length - first),
  };
}

/** Orders two decimal values: negative if a < b, 0 if equal, positive if a > b. */
export function compareDecimalValues(a: DecimalValue, b: DecimalValue): number {
  const signOf = (v: DecimalValue) => (v.digits === '' ? 0 : v.negative ? -1 : 1);
  const sa = signOf(a);
  const sb = signOf(b);
  if (sa !== sb || sa === 0) return sa - sb;
  let magnitude = 0;
  if (a.exponent !== b.exponent) magnitude = a.exponent < b.exponent ? -1 : 1;
  else if (a.digits !== b.digits) magnitude = a.digits < b.digits ? -1 : 1;
  return sa * magnitude;
}

const MINUS_ONE = decimalValue('-1');

/** True for any spelling of exactly -1 ('-1', '-1.0', '-1e0', '-0.1e1'), scikit-learn's "unlabelled". */
export function isMinusOne(text: string): boolean {
  if (text === '-1') return true;
  if (text.charCodeAt(0) !== 45 || !isDecimalText(text)) return false;
  return compareDecimalValues(decimalValue(text), MINUS_ONE) === 0;
}
