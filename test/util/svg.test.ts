import { describe, expect, it } from 'vitest';
import {
  barChartSvg,
  escapeXml,
  formatTick,
  lineChartSvg,
  niceTicks,
  type LineSeries,
} from '../../src/util/svg.ts';

/**
 * A small XML well-formedness check: tags balance and nest, attributes are quoted, and text /
 * attribute values contain no raw '<' and only known entities after '&'. Returns the root tag name.
 */
function checkXml(svg: string): string {
  const stack: string[] = [];
  let root = '';
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  const checkText = (t: string, where: number): void => {
    const amp = /&(?!(amp|lt|gt|quot|apos|#\d+);)/.exec(t);
    if (amp)
      throw new Error(`raw '&' at ${where + amp.index}: ${t.slice(amp.index, amp.index + 20)}`);
  };
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    checkText(text, i);
    if (lt === -1) break;
    if (stack.length === 0 && root !== '')
      throw new Error(`content after the root element at ${lt}`);
    tagRe.lastIndex = lt;
    const m = tagRe.exec(svg);
    if (!m) throw new Error(`malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`);
    const [, close, name, attrs, selfClose] = m;
    checkText(attrs!, lt);
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${lt}`);
    } else {
      if (root === '') root = name!;
      if (!selfClose) stack.push(name!);
    }
    i = tagRe.lastIndex;
  }
  if (stack.length > 0) throw new Error(`unclosed tags: ${stack.join(', ')}`);
  return root;
}

/** Text content of all <text> elements of a group with the given class. */
function groupTexts(svg: string, cls: string): string[] {
  const g = new RegExp(`<g class="${cls}"[^>]*>([\\s\\S]*?)</g>`).exec(svg);
  if (!g) throw new Error(`no group ${cls}`);
  return [...g[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

const series: LineSeries[] = [
  {
    name: 'train loss',
    points: [
      [1, 2.31],
      [2, 0.9],
      [3, 0.41],
      [4, 0.2],
    ],
  },
  {
    name: 'test loss',
    points: [
      [1, 2.2],
      [2, 1.0],
      [3, 0.6],
      [4, 0.45],
    ],
    color: '#123456',
  },
];

describe('checkXml (test helper)', () => {
  it('catches broken markup', () => {
    expect(checkXml('<svg><g/><text>a &amp; b</text></svg>')).toBe('svg');
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg><text>a & b</text></svg>')).toThrow(/raw '&'/);
    expect(() => checkXml('<svg><text>a < b</text></svg>')).toThrow(/malformed/);
    expect(() => checkXml('<svg></svg><svg></svg>')).toThrow(/after the root/);
  });
});

describe('niceTicks', () => {
  it('gives round steps covering the range', () => {
    const cases: [number, number][] = [
      [0, 1],
      [0.013, 2.31],
      [-3.7, 12.2],
      [97.1, 99.4],
      [1, 60000],
      [-0.0004, 0.0009],
      [5, 5],
      [0, 0],
      [-1e-12, 1e-12],
    ];
    for (const [lo, hi] of cases) {
      const t = niceTicks(lo, hi);
      expect(t.values[0]).toBeLessThanOrEqual(lo);
      expect(t.values[t.values.length - 1]).toBeGreaterThanOrEqual(hi);
      expect(t.values.length).toBeGreaterThanOrEqual(2);
      expect(t.values.length).toBeLessThanOrEqual(12);
      // step is 1, 2 or 5 times a power of ten
      const mant = t.step / 10 ** Math.floor(Math.log10(t.step) + 1e-9);
      expect([1, 2, 5]).toContain(Math.round(mant * 1e9) / 1e9);
      // every tick is an exact (printed) multiple of the step, evenly spaced
      for (let i = 0; i < t.values.length; i++) {
        const k = t.values[i]! / t.step;
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-9);
        if (i > 0) expect(t.values[i]! - t.values[i - 1]!).toBeCloseTo(t.step, 9);
      }
    }
    expect(niceTicks(0, 1).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.013, 2.31).values).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(1, 60000).values).toEqual([0, 10000, 20000, 30000, 40000, 50000, 60000]);
    expect(niceTicks(0.1, 0.7).values).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]); // no 0.30000000000000004
  });

  it('fixed ranges keep the ends and only inner ticks', () => {
    const t = niceTicks(90.5, 100, 6, true);
    expect([t.min, t.max]).toEqual([90.5, 100]);
    expect(t.values).toEqual([92, 94, 96, 98, 100]);
  });

  it('formats ticks with just enough decimals', () => {
    expect(formatTick(0.5, 0.5)).toBe('0.5');
    expect(formatTick(1, 0.5)).toBe('1.0');
    expect(formatTick(20000, 10000)).toBe('20000');
    expect(formatTick(0.25, 0.05)).toBe('0.25');
    expect(formatTick(2e6, 1e6)).toBe('2e+6');
    expect(formatTick(1.5e6, 5e5)).toBe('1.5e+6');
    expect(formatTick(0, 0.1)).toBe('0');
  });

  it('rejects bad input', () => {
    expect(() => niceTicks(NaN, 1)).toThrow(/finite/);
    expect(() => niceTicks(2, 1)).toThrow(/lo \(2\) must be <= hi \(1\)/);
  });
});

describe('lineChartSvg', () => {
  const svg = lineChartSvg({
    title: 'Loss <MNIST> & "friends"',
    xLabel: 'epoch',
    yLabel: 'NLL',
    series,
  });

  it('is a well-formed standalone SVG document', () => {
    expect(checkXml(svg)).toBe('svg');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toMatch(/width="640" height="400" viewBox="0 0 640 400"/);
  });

  it('contains series names, polylines, markers and a legend', () => {
    expect(svg).toContain('train loss');
    expect(svg).toContain('test loss');
    expect(svg.match(/<polyline /g)?.length).toBe(2);
    // 8 point markers + 2 legend markers
    expect(svg.match(/<circle /g)?.length).toBe(10);
    expect(svg).toContain('stroke="#123456"');
    expect(groupTexts(svg, 'legend')).toEqual(['train loss', 'test loss']);
  });

  it('escapes text', () => {
    expect(svg).toContain('Loss &lt;MNIST&gt; &amp; &quot;friends&quot;');
    expect(svg).not.toContain('<MNIST>');
    const evil = lineChartSvg({
      title: 't',
      xLabel: '</svg><script>',
      yLabel: 'a&b',
      series: [{ name: '<b>x</b>', points: [[0, 1]], color: '"red" onload="x"' }],
    });
    expect(checkXml(evil)).toBe('svg');
    expect(evil).not.toContain('<script>');
    expect(evil).toContain('&lt;/svg&gt;&lt;script&gt;');
    expect(evil).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(evil).toContain('a&amp;b');
    expect(evil).not.toContain('onload="x"');
  });

  it('tick labels are round numbers covering the data range', () => {
    expect(groupTexts(svg, 'y-ticks')).toEqual(['0', '0.5', '1.0', '1.5', '2.0', '2.5']);
    const xs = groupTexts(svg, 'x-ticks').map(Number);
    expect(xs[0]).toBeLessThanOrEqual(1);
    expect(xs[xs.length - 1]).toBeGreaterThanOrEqual(4);
    for (const v of xs) expect(Math.abs(v * 2 - Math.round(v * 2))).toBeLessThan(1e-12);
  });

  it('honours yMin / yMax exactly and clips to the plot area', () => {
    const s = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series, yMin: 0, yMax: 1 });
    expect(groupTexts(s, 'y-ticks')).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    const id = /<clipPath id="(plot-area-[0-9a-f]{8})">/.exec(s)![1]!;
    expect(s).toContain(`clip-path="url(#${id})"`);
    // deterministic, but different charts get different ids
    expect(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series, yMin: 0, yMax: 1 })).toBe(
      s,
    );
    expect(svg).not.toContain(id);
    const lo = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series, yMin: 0.3 });
    const ticks = groupTexts(lo, 'y-ticks').map(Number);
    expect(ticks[0]).toBeGreaterThanOrEqual(0.3);
    expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(2.31);
  });

  it('handles a single point and constant series', () => {
    const one = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'a', points: [[3, 7]] }],
    });
    expect(checkXml(one)).toBe('svg');
    expect(one).not.toContain('<polyline');
    expect(one).not.toMatch(/NaN|Infinity/);
    const flat = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            [0, 0],
            [1, 0],
          ],
        },
      ],
    });
    expect(flat).not.toMatch(/NaN|Infinity/);
  });

  it('omits markers on long series unless asked', () => {
    const pts = Array.from({ length: 500 }, (_, i) => [i, Math.sin(i / 50)] as const);
    const s = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'a', points: pts }],
    });
    expect(s.match(/<circle /g)).toBeNull();
    const m = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'a', points: pts, markers: true }],
    });
    expect(m.match(/<circle /g)?.length).toBe(501);
  });

  it('throws clear errors', () => {
    const base = { title: 'T', xLabel: 'x', yLabel: 'y' };
    expect(() => lineChartSvg({ ...base, series: [] })).toThrow(
      'lineChartSvg("T"): no series to plot',
    );
    expect(() => lineChartSvg({ ...base, series: [{ name: 'e', points: [] }] })).toThrow(
      'lineChartSvg("T"): series 0 ("e") has no points',
    );
    expect(() =>
      lineChartSvg({
        ...base,
        series: [
          {
            name: 'n',
            points: [
              [0, 1],
              [1, NaN],
            ],
          },
        ],
      }),
    ).toThrow('lineChartSvg("T"): series "n" point 1 y is not a finite number: NaN');
    expect(() =>
      lineChartSvg({ ...base, series: [{ name: 'n', points: [[Infinity, 1]] }] }),
    ).toThrow('series "n" point 0 x is not a finite number: Infinity');
    expect(() => lineChartSvg({ ...base, series, yMin: 2, yMax: 1 })).toThrow(
      'yMin (2) must be less than yMax (1)',
    );
    expect(() => lineChartSvg({ ...base, series, width: NaN })).toThrow(
      /width must be a finite number/,
    );
  });
});

describe('barChartSvg', () => {
  const bars = [-3, -2, -1, 0].map((p, i) => ({ label: `2^${p}`, value: [5, 40, 12, 1][i]! }));
  const svg = barChartSvg({ title: 'Shifts <conv1>', xLabel: 'shift', yLabel: 'count', bars });

  it('is well-formed with one rect per bar and labels', () => {
    expect(checkXml(svg)).toBe('svg');
    const barsGroup = /<g class="bars">([\s\S]*?)<\/g>/.exec(svg)![1]!;
    const rects = [...barsGroup.matchAll(/<rect [^>]*height="([^"]*)"/g)];
    expect(rects.length).toBe(4);
    const heights = rects.map((m) => Number(m[1]));
    // heights proportional to values
    expect(heights[1]! / heights[0]!).toBeCloseTo(8, 5);
    expect(groupTexts(svg, 'x-ticks')).toEqual(['2^-3', '2^-2', '2^-1', '2^0']);
    expect(svg).toContain('Shifts &lt;conv1&gt;');
    const yt = groupTexts(svg, 'y-ticks').map(Number);
    expect(yt[0]).toBe(0);
    expect(yt[yt.length - 1]).toBeGreaterThanOrEqual(40);
  });

  it('supports negative values with a zero baseline', () => {
    const s = barChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      bars: [
        { label: 'a', value: -0.35 },
        { label: 'b', value: 1.25 },
      ],
    });
    expect(checkXml(s)).toBe('svg');
    const yt = groupTexts(s, 'y-ticks').map(Number);
    expect(yt[0]).toBeLessThanOrEqual(-0.35);
    expect(yt).toContain(0);
    expect(s).not.toMatch(/NaN|Infinity|height="-/);
  });

  it('thins out category labels when there are many bars', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ label: `bin ${i}`, value: i % 7 }));
    const s = barChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', bars: many });
    expect(checkXml(s)).toBe('svg');
    const labels = groupTexts(s, 'x-ticks');
    expect(labels.length).toBeLessThan(40);
    expect(labels[0]).toBe('bin 0');
  });

  it('throws clear errors', () => {
    const base = { title: 'H', xLabel: 'x', yLabel: 'y' };
    expect(() => barChartSvg({ ...base, bars: [] })).toThrow('barChartSvg("H"): no bars to plot');
    expect(() => barChartSvg({ ...base, bars: [{ label: 'q', value: Infinity }] })).toThrow(
      'barChartSvg("H"): bar 0 ("q") value is not a finite number: Infinity',
    );
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;',
    );
  });
});
