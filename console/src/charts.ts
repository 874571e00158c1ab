// Charts with uPlot. Every chart sits in a <figure> with a caption and is aria-hidden: the
// same figures are always in a table next to it, which is what screen readers read.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

const palette = { bar: '#2f6fdf', line: '#c2410c', grid: '#e5e7eb' };

/** Width the chart can take inside `container`, kept between a phone's and a wide column. */
function widthOf(container: HTMLElement): number {
  return Math.max(260, Math.min(container.clientWidth || 600, 1100));
}

const height = 220;

/**
 * A uPlot in a captioned figure, kept as wide as its container. `options` are what differs
 * between charts; the size, the hidden legend and the y axis (values shown with `format`) are
 * the same for all.
 */
function mount(
  caption: string,
  format: (value: number) => string,
  xAxis: uPlot.Axis,
  options: Pick<uPlot.Options, 'scales' | 'series' | 'cursor'>,
  data: uPlot.AlignedData,
): { figure: HTMLElement; destroy: () => void } {
  const figure = h('figure', {}, h('figcaption', {}, caption));
  const target = h('div', { class: 'chart', 'aria-hidden': 'true' });
  figure.prepend(target);
  let chart: uPlot | null = null;
  // The figure is laid out only once it is in the document: wait a frame for its width.
  requestAnimationFrame(() => {
    chart = new uPlot(
      {
        width: widthOf(figure),
        height,
        legend: { show: false },
        axes: [
          xAxis,
          { values: (_u, splits) => splits.map(format), size: 92, grid: { stroke: palette.grid } },
        ],
        ...options,
      },
      data,
      target,
    );
  });
  const observer = new ResizeObserver(() => chart?.setSize({ width: widthOf(figure), height }));
  observer.observe(figure);
  return {
    figure,
    destroy() {
      observer.disconnect();
      chart?.destroy();
    },
  };
}

/** Bars over categories (skills, models, days, histogram bins). */
export function barChart(
  caption: string,
  labels: string[],
  values: number[],
  format: (value: number) => string,
): { figure: HTMLElement; destroy: () => void } {
  const xs = labels.map((_, i) => i);
  return mount(
    caption,
    format,
    {
      values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (labels[s] ?? '') : '')),
      splits: () => xs,
      grid: { show: false },
    },
    {
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] } },
      series: [
        {},
        {
          label: caption,
          fill: palette.bar,
          stroke: palette.bar,
          paths: uPlot.paths.bars!({ size: [0.6, 80] }),
          points: { show: false },
        },
      ],
    },
    [xs, values],
  );
}

/** A line over time (seconds since the epoch on x), across the whole window [from, to]. */
export function timeChart(
  caption: string,
  times: number[],
  values: number[],
  format: (value: number) => string,
  window: { from: number; to: number; yMax?: number },
): { figure: HTMLElement; destroy: () => void } {
  return mount(
    caption,
    format,
    {},
    {
      scales: {
        x: { time: true, range: [window.from, window.to] },
        ...(window.yMax === undefined ? {} : { y: { range: [0, window.yMax] } }),
      },
      series: [{}, { label: caption, stroke: palette.line, width: 2, points: { show: true, size: 6 } }],
    },
    [times, values],
  );
}
