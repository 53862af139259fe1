// k6's jslib `k6-summary` (https://jslib.k6.io/k6-summary/<version>/index.js), carried in the
// engine so that no script needs the network: `textSummary(data, options)` writes the summary
// handleSummary receives as k6's classic end-of-test text, `jUnit(data, options)` writes the
// thresholds as JUnit XML, and `humanizeValue(value, metric, timeUnit)` formats one value.
//
//   import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';
//   export function handleSummary(data) {
//     return { stdout: textSummary(data, { indent: ' ', enableColors: false }) };
//   }

const PASS = '\u2713';
const FAIL = '\u2717';
const COLORS = { bold: 1, faint: 2, red: 31, green: 32, cyan: 36 };

/** Columns the text takes on a terminal: ANSI colour sequences take none. */
function width(text) {
  return [...String(text).normalize('NFKC').replace(/\x1b\[[0-9;]*[@-~]/g, '')].length;
}

function painter(enabled) {
  if (!enabled) return (text) => text;
  return (text, ...codes) => `\x1b[${codes.join(';')}m${text}\x1b[0m`;
}

function trimmed(value, digits) {
  return String(parseFloat(value.toFixed(digits)));
}

function truncated(value, digits) {
  const scale = 10 ** digits;
  return trimmed(Math.trunc(value * scale) / scale, digits);
}

function bytes(n) {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  const exp = Math.floor(Math.log(n) / Math.log(1000));
  const scaled = Math.floor((n / 1000 ** exp) * 10 + 0.5) / 10;
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[exp]}`;
}

function duration(ms) {
  if (ms === 0) return '0s';
  if (ms < 0.001) return `${Math.trunc(ms * 1e6)}ns`;
  if (ms < 1) return `${truncated(ms * 1000, 2)}\u00b5s`;
  if (ms < 1000) return `${truncated(ms, 2)}ms`;
  let text = `${truncated((ms % 60000) / 1000, ms > 60000 ? 0 : 2)}s`;
  let minutes = Math.trunc(ms / 60000);
  if (minutes < 1) return text;
  text = `${minutes % 60}m${text}`;
  const hours = Math.trunc(minutes / 60);
  return hours < 1 ? text : `${hours}h${text}`;
}

const TIME_UNITS = { s: ['s', 0.001], ms: ['ms', 1], us: ['\u00b5s', 1000] };

/** One value of `metric` as the summary shows it (`12.5ms`, `1.2 MB`, `99.50%`, `3`). */
export function humanizeValue(value, metric, timeUnit) {
  if (metric.type === 'rate') return `${(Math.trunc(value * 10000) / 100).toFixed(2)}%`;
  if (metric.contains === 'data') return bytes(value);
  if (metric.contains === 'time') {
    const unit = TIME_UNITS[timeUnit];
    return unit ? `${(value * unit[1]).toFixed(2)}${unit[0]}` : duration(value);
  }
  return trimmed(value, 6);
}

function checkLines(indent, check, paint) {
  if (check.fails === 0) return [paint(`${indent}${PASS} ${check.name}`, COLORS.green)];
  const share = Math.floor((100 * check.passes) / (check.passes + check.fails));
  return [
    paint(
      `${indent}${FAIL} ${check.name}\n${indent} \u21b3  ${share}% \u2014 ${PASS} ${check.passes} / ${FAIL} ${check.fails}`,
      COLORS.red,
    ),
  ];
}

/** Groups and checks are arrays in handleSummary's data, objects in a summary export. */
function listOf(items) {
  if (!items) return [];
  return Array.isArray(items) ? items : Object.values(items);
}

function groupLines(indent, group, paint) {
  const lines = [];
  if (group.name) {
    lines.push(`${indent}\u2588 ${group.name}\n`);
    indent += '  ';
  }
  const checks = listOf(group.checks);
  for (const check of checks) lines.push(...checkLines(indent, check, paint));
  if (checks.length > 0) lines.push('');
  for (const sub of listOf(group.groups)) lines.push(...groupLines(indent, sub, paint));
  return lines;
}

function shownName(name) {
  const brace = name.indexOf('{');
  return brace < 0 ? name : `  { ${name.slice(brace + 1, -1)} }`;
}

function otherValues(metric, unit) {
  const v = metric.values;
  const h = (x) => humanizeValue(x, metric, unit);
  switch (metric.type) {
    case 'counter':
      return [h(v.count), `${h(v.rate)}/s`];
    case 'gauge':
      return [h(v.value), `min=${h(v.min)}`, `max=${h(v.max)}`];
    case 'rate':
      return [h(v.rate), `${PASS} ${v.passes}`, `${FAIL} ${v.fails}`];
    default:
      return ['[no data]'];
  }
}

function byParentThenTags(a, b) {
  const pa = a.split('{', 1)[0];
  const pb = b.split('{', 1)[0];
  return pa.localeCompare(pb) || a.slice(pa.length).localeCompare(b.slice(pb.length));
}

function pad(text, to) {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

function metricLines(opts, data, paint) {
  const stats = opts.summaryTrendStats || ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
  const unit = opts.summaryTimeUnit || '';
  const names = Object.keys(data.metrics || {}).sort(byParentThenTags);
  const cells = {};
  const widths = [];
  let nameWidth = 0;
  for (const name of names) {
    const metric = data.metrics[name];
    nameWidth = Math.max(nameWidth, width(shownName(name)));
    const row =
      metric.type === 'trend'
        ? stats.map((s) =>
            s === 'count' ? String(metric.values[s]) : humanizeValue(metric.values[s], metric, unit),
          )
        : otherValues(metric, unit);
    // Trend columns and the other metrics' columns are aligned among themselves.
    const offset = metric.type === 'trend' ? 0 : 100;
    row.forEach((cell, i) => {
      widths[offset + i] = Math.max(widths[offset + i] || 0, width(cell));
    });
    cells[name] = row;
  }
  return names.map((name) => {
    const metric = data.metrics[name];
    const row = cells[name];
    let text;
    if (metric.type === 'trend') {
      text = row.map((cell, i) => `${stats[i]}=${paint(pad(cell, widths[i]), COLORS.cyan)}`).join(' ');
    } else {
      text = [paint(pad(row[0], widths[100]), COLORS.cyan)]
        .concat(row.slice(1).map((cell, i) => paint(pad(cell, widths[101 + i]), COLORS.cyan, COLORS.faint)))
        .join(' ');
    }
    let mark = ' ';
    let color = (t) => t;
    const thresholds = metric.thresholds || {};
    if (Object.keys(thresholds).length > 0) {
      const ok = Object.values(thresholds).every((t) => (typeof t === 'boolean' ? !t : t.ok));
      mark = ok ? PASS : FAIL;
      color = (t) => paint(t, ok ? COLORS.green : COLORS.red);
    }
    const shown = shownName(name);
    const sub = shown.startsWith('  ') ? '  ' : '';
    const dots = paint(`${'.'.repeat(nameWidth - width(shown) + 3)}:`, COLORS.faint);
    return `${opts.indent}  ${sub}${color(mark)} ${shown.slice(sub.length)}${dots} ${text}`;
  });
}

/**
 * The summary `data` (handleSummary's argument) as k6's classic end-of-test text. Options:
 * `indent` (default one space) and `enableColors` (default true), and `summaryTimeUnit` and
 * `summaryTrendStats` (default: the test's).
 */
export function textSummary(data, options = {}) {
  const opts = Object.assign(
    { indent: ' ', enableColors: true, summaryTimeUnit: null, summaryTrendStats: null },
    data.options || {},
    options || {},
  );
  const paint = painter(opts.enableColors);
  const lines = groupLines(`${opts.indent}    `, data.root_group || { name: '' }, paint);
  lines.push(...metricLines(opts, data, paint));
  return lines.join('\n');
}

function xml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The thresholds as JUnit XML: one test case per threshold. Option: `name` of the suite. */
export function jUnit(data, options = {}) {
  const cases = [];
  let failures = 0;
  for (const [metric, m] of Object.entries(data.metrics || {})) {
    for (const [source, t] of Object.entries(m.thresholds || {})) {
      const ok = typeof t === 'boolean' ? !t : t.ok;
      const name = `${xml(metric)} - ${xml(source)}`;
      if (ok) {
        cases.push(`<testcase name="${name}" />`);
      } else {
        failures += 1;
        cases.push(`<testcase name="${name}"><failure message="failed" /></testcase>`);
      }
    }
  }
  const suite = xml((options && options.name) || 'k6 thresholds');
  return (
    `<?xml version="1.0"?>\n<testsuites tests="${cases.length}" failures="${failures}">\n` +
    `<testsuite name="${suite}" tests="${cases.length}" failures="${failures}">` +
    `${cases.join('\n')}\n</testsuite >\n</testsuites >`
  );
}

export default { textSummary, jUnit, humanizeValue };
