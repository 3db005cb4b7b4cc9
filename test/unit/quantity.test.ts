// Unit tests for runtime/quantity.ts: CPU and memory quantities.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as v from 'valibot';
import { CpuQuantity, MemoryQuantity, parseCpu, parseMemory } from '../../runtime/quantity.ts';

describe('parseCpu', () => {
  test('accepts millicores, decimal cores and numbers', () => {
    assert.equal(parseCpu('50m'), 0.05);
    assert.equal(parseCpu('250m'), 0.25);
    assert.equal(parseCpu('1000m'), 1);
    assert.equal(parseCpu('0.5'), 0.5);
    assert.equal(parseCpu('1'), 1);
    assert.equal(parseCpu('.5'), 0.5);
    assert.equal(parseCpu(2), 2);
    assert.equal(parseCpu(0.25), 0.25);
    assert.equal(parseCpu('1m'), 0.001);
  });

  for (const bad of ['', 'abc', '-1', '0', '0m', '1.5x', '1 ', '1e3', '+1', 'm', '2M', '0.0001']) {
    test(`rejects ${JSON.stringify(bad)} naming the value and the accepted forms`, () => {
      assert.throws(
        () => parseCpu(bad),
        (e: Error) => {
          assert.ok(e.message.includes(`'${bad}'`), e.message);
          assert.match(e.message, /millicores \("250m"\)/);
          return true;
        },
      );
    });
  }

  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`rejects the number ${bad}`, () => {
      assert.throws(() => parseCpu(bad), /invalid CPU quantity/);
    });
  }
});

describe('parseMemory', () => {
  test('accepts binary and decimal suffixes and plain bytes', () => {
    assert.equal(parseMemory('128Mi'), 134217728);
    assert.equal(parseMemory('1Gi'), 1073741824);
    assert.equal(parseMemory('16Ki'), 16384);
    assert.equal(parseMemory('1Ti'), 1024 ** 4);
    assert.equal(parseMemory('500M'), 500000000);
    assert.equal(parseMemory('2k'), 2000);
    assert.equal(parseMemory('3G'), 3e9);
    assert.equal(parseMemory('1T'), 1e12);
    assert.equal(parseMemory('1048576'), 1048576);
    assert.equal(parseMemory(1048576), 1048576);
  });

  test('accepts fractions that come out as whole bytes, computed exactly', () => {
    assert.equal(parseMemory('1.5Gi'), 1610612736);
    assert.equal(parseMemory('0.5Ki'), 512);
    // 1.1 * 1e6 is 1100000.0000000002 in floating point
    assert.equal(parseMemory('1.1M'), 1100000);
  });

  const cases: Array<[string | number, RegExp]> = [
    ['0', /greater than 0/],
    ['0Mi', /greater than 0/],
    [0, /greater than 0/],
    [-5, /greater than 0/],
    ['-1Mi', /invalid memory quantity '-1Mi'/],
    ['1.5', /fraction of a byte/],
    ['0.1Mi', /fraction of a byte/],
    [1.5, /fraction of a byte/],
    ['12Xi', /invalid memory quantity '12Xi'.*Ki, Mi, Gi, Ti/],
    ['12K', /invalid memory quantity '12K'/],
    ['1Pi', /invalid memory quantity '1Pi'/],
    ['', /invalid memory quantity ''/],
    ['Mi', /invalid memory quantity 'Mi'/],
    ['128m', /thousandths of a byte; did you mean '128Mi'/],
    ['1e6', /invalid memory quantity '1e6'/],
    [2 ** 60, /too large/],
  ];
  for (const [bad, re] of cases) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseMemory(bad), re);
    });
  }
});

describe('CpuQuantity / MemoryQuantity schemas', () => {
  test('keep the value as written', () => {
    assert.equal(v.parse(CpuQuantity, '250m'), '250m');
    assert.equal(v.parse(CpuQuantity, 2), 2);
    assert.equal(v.parse(MemoryQuantity, '128Mi'), '128Mi');
  });

  test("report the parser's message", () => {
    const r = v.safeParse(CpuQuantity, '1.5x');
    assert.equal(r.success, false);
    assert.match(r.issues![0].message, /invalid CPU quantity '1.5x'/);
    const m = v.safeParse(MemoryQuantity, '12Xi');
    assert.equal(m.success, false);
    assert.match(m.issues![0].message, /invalid memory quantity '12Xi'/);
  });

  test('reject other types', () => {
    const r = v.safeParse(MemoryQuantity, true);
    assert.equal(r.success, false);
    assert.match(r.issues![0].message, /must be a memory quantity/);
  });
});
