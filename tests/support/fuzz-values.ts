import fc from 'fast-check';

/**
 * Arbitraries for the fuzz tests, and the test's own model of each type's canonical encoding
 * (DESIGN.md "Column types and values"), written independently of src/resolvers/values.ts so the
 * fuzz compares the server with a second implementation rather than with itself.
 *
 * Every generated case carries `mustAccept`: true when the value is valid by the documented rules
 * (the server must store it and read it back as `canonical(...)`); false when it is hostile or
 * doubtful (the server may refuse it, with BAD_USER_INPUT, or store it, and then it must still
 * read back canonically).
 */

export type ApiType = 'text' | 'varchar' | 'integer' | 'bigint' | 'numeric' | 'boolean' | 'date' | 'timestamptz' | 'uuid' | 'jsonb' | 'serial';
export const API_TYPES: ApiType[] = ['text', 'varchar', 'integer', 'bigint', 'numeric', 'boolean', 'date', 'timestamptz', 'uuid', 'jsonb', 'serial'];
/** maxLength of the fuzzed varchar column. */
export const VARCHAR_LENGTH = 8;

export interface ValueCase {
  type: ApiType;
  value: unknown;
  mustAccept: boolean;
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
/** Any code points, astral ones included (well-formed UTF-16). */
const unicode = (maxLength: number) => fc.string({ unit: 'binary', maxLength }).map((s) => s.replaceAll('\0', ''));
/** A string with a NUL or a lone surrogate somewhere in it. */
export const brokenText = fc
  .tuple(unicode(6), fc.oneof(fc.constant('\0'), loneSurrogate), unicode(6))
  .map(([a, bad, b]) => a + bad + b);

/** Values of every JSON type that no column of `type` should take (wrong JSON shape). */
const wrongShape = fc.oneof(fc.constant([]), fc.constant({}), fc.constant([1]), fc.constant({ a: 1 }), fc.boolean(), fc.string({ maxLength: 4 }), fc.double({ noNaN: true, noDefaultInfinity: true }));

const pad = (n: number, width: number) => String(n).padStart(width, '0');

const validDate = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
const dateText = (d: Date) => `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;

/** An offset Postgres accepts: within ±15:59. */
const offset = fc.oneof(
  fc.constantFrom('Z', 'z'),
  fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 59 }), fc.boolean()).map(([sign, h, m, colon]) => `${sign}${pad(h, 2)}${colon ? ':' : ''}${pad(m, 2)}`),
);
const timestampText = fc
  .tuple(validDate, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 999_999 }), offset, fc.constantFrom('T', ' ', 't'))
  .map(([d, digits, micros, zone, sep]) => {
    const fraction = digits === 0 ? '' : `.${pad(micros, 6).slice(0, digits)}`;
    return `${dateText(d)}${sep}${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${fraction}${zone}`;
  });

const decimalText = fc
  .tuple(fc.constantFrom('', '+', '-'), fc.stringMatching(/^\d{0,40}$/), fc.option(fc.stringMatching(/^\d{0,40}$/)), fc.option(fc.integer({ min: -60, max: 60 })))
  .filter(([, int, frac]) => int.length > 0 || (frac ?? '').length > 0)
  .map(([sign, int, frac, exp]) => `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`);

const int4 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int8 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);

const valid = (type: ApiType, arb: fc.Arbitrary<unknown>) => arb.map((value): ValueCase => ({ type, value, mustAccept: true }));
const hostile = (type: ApiType, arb: fc.Arbitrary<unknown>) => arb.map((value): ValueCase => ({ type, value, mustAccept: false }));

/** Per type: valid values (weighted higher) and hostile ones. */
const perType: Record<ApiType, fc.Arbitrary<ValueCase>> = {
  text: fc.oneof(valid('text', unicode(40)), valid('text', fc.constantFrom("it's", '"; DROP TABLE x; --', '\\x00', '\u2028\u2029', '\uFEFF', '😀👩‍👩‍👧', ' ')), hostile('text', brokenText), hostile('text', wrongShape)),
  varchar: fc.oneof(
    valid('varchar', unicode(VARCHAR_LENGTH)),
    valid('varchar', fc.constantFrom('𝄞'.repeat(VARCHAR_LENGTH), 'é'.repeat(VARCHAR_LENGTH))),
    hostile('varchar', unicode(VARCHAR_LENGTH * 2)),
    hostile('varchar', fc.constantFrom('𝄞'.repeat(VARCHAR_LENGTH + 1), 'x'.repeat(VARCHAR_LENGTH + 1))),
    hostile('varchar', brokenText),
  ),
  integer: fc.oneof(
    { weight: 3, arbitrary: valid('integer', int4) },
    hostile('integer', fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e300, -1e300, 0.5, -1.5, Number.MIN_VALUE, '1', '0x10', true, [], {})),
    hostile('integer', fc.double({ noNaN: true, noDefaultInfinity: true })),
  ),
  serial: fc.oneof({ weight: 3, arbitrary: valid('serial', int4) }, hostile('serial', fc.constantFrom(null, 2 ** 31, 1.5, '7'))),
  bigint: fc.oneof(
    { weight: 2, arbitrary: valid('bigint', int8.map(String)) },
    valid('bigint', fc.tuple(fc.constantFrom('+', ''), fc.stringMatching(/^0{0,5}$/), fc.bigInt(0n, 2n ** 63n - 1n)).map(([s, z, n]) => `${s}${z}${n}`)),
    valid('bigint', fc.maxSafeInteger()),
    hostile('bigint', fc.constantFrom(String(2n ** 63n), String(-(2n ** 63n) - 1n), '9'.repeat(40), '1.0', '1e3', ' 1', '', '-', '0x1F', 2 ** 53, 1.5, 1e300, 'NaN', 'Infinity')),
    hostile('bigint', fc.bigInt(-(2n ** 70n), 2n ** 70n).map(String)),
  ),
  numeric: fc.oneof(
    { weight: 2, arbitrary: valid('numeric', decimalText) },
    valid('numeric', fc.double({ noNaN: true, noDefaultInfinity: true })),
    valid('numeric', fc.constantFrom('0', '-0', '-0.000', '.5', '5.', '1e-1000', '1e1000', '123456789012345678901234567890.123456789')),
    hostile('numeric', fc.constantFrom('NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e', 'e5', '', ' 1', '1 ', '0x10', '1_000', '1,5', '--1', '1e1001', '1e-1001', '1e131072', '1e-16384', '9'.repeat(1001), `0.${'0'.repeat(16383)}1`, true, [], {})),
    hostile('numeric', fc.tuple(fc.constantFrom('1', '9.99', '-1'), fc.integer({ min: -200_000, max: 200_000 })).map(([m, e]) => `${m}e${e}`)),
  ),
  boolean: fc.oneof({ weight: 2, arbitrary: valid('boolean', fc.boolean()) }, hostile('boolean', fc.constantFrom('true', 'false', 't', 'yes', 0, 1, '', [], {}))),
  date: fc.oneof(
    { weight: 2, arbitrary: valid('date', validDate.map(dateText)) },
    valid('date', fc.constantFrom('0001-01-01', '9999-12-31', '2000-02-29', '2024-02-29')),
    hostile('date', fc.constantFrom('2023-02-29', '1900-02-29', '2024-02-30', '2024-13-01', '2024-00-10', '2024-01-00', '0000-01-01', '10000-01-01', '+002024-01-01', '2024-1-1', '2024-01-01T00:00:00Z', 'infinity', '-infinity', 'epoch', 'today', 'now', '', 20240101, '2024-01-01 BC', ' 2024-01-01')),
    hostile('date', fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(([y, m, d]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`)),
  ),
  timestamptz: fc.oneof(
    { weight: 2, arbitrary: valid('timestamptz', timestampText) },
    hostile('timestamptz', fc.constantFrom('2024-05-01T12:00:00', '2024-05-01T12:00:00.1234567Z', '2024-05-01T24:00:00Z', '2016-12-31T23:59:60Z', '2024-05-01T12:00:00+16:00', '2024-05-01T12:00:00+15:60', '2024-02-30T00:00:00Z', 'infinity', '-infinity', 'now', 'epoch', 'allballs', '2024-05-01T12:00Z', '2024-05-01T12:00:00+05:30:15', '2024-05-01T12:00:00 UTC', '2024-05-01T12:00:00 America/New_York', 1714564800000, '')),
    hostile('timestamptz', fc.constantFrom('0001-01-01T00:00:00+15:59', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59.999999-15:59', '0001-01-01T00:00:00.000001+00:00:01')),
  ),
  uuid: fc.oneof(
    { weight: 2, arbitrary: valid('uuid', fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] })) },
    valid('uuid', fc.mixedCase(fc.uuid()).map(String)),
    valid('uuid', fc.constantFrom('00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')),
    hostile('uuid', fc.constantFrom('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11', 'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '', 'nil', 0, [])),
  ),
  jsonb: fc.oneof(
    { weight: 2, arbitrary: valid('jsonb', fc.jsonValue({ maxDepth: 3 })) },
    valid('jsonb', fc.constantFrom({ __proto__x: 1 }, JSON.parse('{"__proto__": {"polluted": true}}'), { constructor: { prototype: 1 } }, [1e308, -1e-308, 5e-324, 2 ** 53 + 2], '', { '': '' }, '😀', { 'a"b': "c'd" })),
    hostile('jsonb', fc.jsonValue({ maxDepth: 2 }).chain((v) => brokenText.map((bad) => ({ v, [bad]: bad })))),
    hostile('jsonb', fc.constantFrom({ a: '\0' }, ['\ud800'], { '\udfff': 1 }, 'x\0y')),
    hostile('jsonb', fc.integer({ min: 150, max: 400 }).map((depth) => nest(depth))),
  ),
};

function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** One value of one of the 11 types; `null` now and then (SQL NULL, valid for nullable columns). */
export const valueCase: fc.Arbitrary<ValueCase> = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...API_TYPES).chain((type) => perType[type]) },
  { weight: 1, arbitrary: fc.constantFrom(...API_TYPES.filter((t) => t !== 'serial')).map((type): ValueCase => ({ type, value: null, mustAccept: true })) },
);

export const valueCaseOf = (type: ApiType) => perType[type];

// ----- the test's model of the canonical encodings ------------------------------------------

/** Exact decimal normalisation as Postgres's numeric prints it: display scale max(0, fraction digits - exponent). */
export function canonicalNumeric(text: string): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const [, sign, int, frac = '', expText = '0'] = m;
  const exponent = Number(expText);
  const scale = Math.max(0, frac.length - exponent);
  // digits * 10^(exponent - frac.length), written with `scale` fraction digits.
  let digits = (int + frac).replace(/^0+/, '');
  const shift = exponent - frac.length + scale; // >= 0: how many zeros to append
  digits += '0'.repeat(shift);
  digits = digits.padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(digits.length - scale);
  const zero = /^0*$/.test(whole + fraction);
  return `${sign === '-' && !zero ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:[Zz]|([+-])(\d\d):?(\d\d))$/;

/** ISO 8601 in UTC, microseconds kept without trailing zeros; years outside 0001-9999 in ISO 8601's expanded form. */
export function canonicalTimestamptz(text: string): string | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0'] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const utc = new Date(date.getTime() - (sign ? offsetMs : 0));
  const year = utc.getUTCFullYear();
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : year < 0 ? `-${pad(-year, 6)}` : `+${pad(year, 6)}`;
  const micros = frac.padEnd(6, '0').replace(/0+$/, '');
  return `${yearText}-${pad(utc.getUTCMonth() + 1, 2)}-${pad(utc.getUTCDate(), 2)}T${pad(utc.getUTCHours(), 2)}:${pad(utc.getUTCMinutes(), 2)}:${pad(utc.getUTCSeconds(), 2)}${micros ? `.${micros}` : ''}Z`;
}

/**
 * What a stored value must read back as, or undefined when the model has no encoding for it
 * (the server then had no business storing it). jsonb goes through JSON text, as it does on the wire.
 */
export function canonical(type: ApiType, value: unknown): { value: unknown } | undefined {
  if (value === null) return { value: null };
  switch (type) {
    case 'text':
    case 'varchar':
    case 'date':
    case 'boolean':
      return { value };
    case 'integer':
    case 'serial':
      return typeof value === 'number' ? { value } : undefined;
    case 'bigint':
      return typeof value === 'string' || typeof value === 'number' ? { value: BigInt(value).toString() } : undefined;
    case 'numeric': {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
      const result = text === undefined ? undefined : canonicalNumeric(text);
      return result === undefined ? undefined : { value: result };
    }
    case 'timestamptz': {
      const result = typeof value === 'string' ? canonicalTimestamptz(value) : undefined;
      return result === undefined ? undefined : { value: result };
    }
    case 'uuid':
      return typeof value === 'string' ? { value: value.toLowerCase() } : undefined;
    case 'jsonb':
      return { value: JSON.parse(JSON.stringify(value)) as unknown };
  }
}
