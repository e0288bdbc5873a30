import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { cdkJsonConfig, flatten, resources, synthesize } from './support/stacks.js';

// docs/dashboard.md explains the synthesized dashboard and alarms: this keeps it from drifting.
const DOC = 'docs/dashboard.md';
const doc = readFileSync(repoPath(DOC), 'utf8');
const config = cdkJsonConfig();
const { stack, template } = synthesize(config);
const connection = (config['drainCheck'] as { connection?: string } | undefined)?.connection ?? 'source';

/** The doc's `### ` sections under a `## ` heading, as [heading, text]. */
function sections(part: string): [string, string][] {
  const body = doc.split(/^## /m).find((s) => s.startsWith(`${part}\n`)) ?? '';
  return body
    .split(/^### /m)
    .slice(1)
    .map((s) => [s.slice(0, s.indexOf('\n')).trim(), s]);
}

interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: unknown[][]; query?: string };
}
const [dashboard] = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
const widgets = (JSON.parse(flatten(dashboard!.Properties['DashboardBody'])) as { widgets: Widget[] }).widgets;
// A text widget has no title: it goes by its first Markdown heading.
const titleOf = (w: Widget) => w.properties.title ?? /^#+ (.*)$/m.exec(w.properties.markdown ?? '')?.[1] ?? `(untitled ${w.type} widget)`;

type AlarmMetric = { MetricStat?: { Metric: { MetricName: string } } };
const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as { AlarmName: string; MetricName?: string; Metrics?: AlarmMetric[]; Threshold: number; ComparisonOperator: string });
/** The metrics an alarm watches: its one metric, or those its metric math reads. */
const watched = (alarm: (typeof alarms)[number]) => (alarm.MetricName !== undefined ? [alarm.MetricName] : (alarm.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : [])));
// The doc writes names for any configuration: `<name>-…`, `<name>-<connection>-…`.
const generic = (alarmName: string) => alarmName.replace(`${stack.migration.name}-`, '<name>-').replace(`<name>-${connection}-`, '<name>-<connection>-');

describe(`${DOC}`, () => {
  it('explains every widget of the dashboard, in the order it appears, each with the metrics it shows', () => {
    const explained = sections('Widgets');
    expect(explained.map(([heading]) => heading), `${DOC}: one "### <widget title>" per widget, in the dashboard's order`).toEqual(widgets.map(titleOf));
    widgets.forEach((w, i) => {
      const text = explained[i]![1];
      const metricNames = (w.properties.metrics ?? []).map((line) => line[1] as string);
      const queryColumns = [...(w.properties.query ?? '').matchAll(/ as (\w+)/g)].map((m) => m[1]!).filter((c) => c !== 'last');
      for (const name of new Set([...metricNames, ...queryColumns])) expect(text, `${DOC}, widget "${titleOf(w)}": mentions ${name}`).toContain(`\`${name}\``);
    });
  });

  it('explains every alarm: its name, metric and threshold', () => {
    const explained = sections('Alarms');
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) {
      const name = generic(alarm.AlarmName);
      const section = explained.find(([, text]) => text.includes(`\`${name}\``));
      expect(section, `${DOC}: no section names the alarm ${name}`).toBeDefined();
      const text = section![1].replace(/\s+/g, ' ');
      expect(watched(alarm).length, name).toBeGreaterThan(0);
      for (const metric of watched(alarm)) expect(text, name).toContain(`\`${metric}\``);
      const op = alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? '≥' : alarm.ComparisonOperator === 'LessThanOrEqualToThreshold' ? '≤' : alarm.ComparisonOperator;
      expect(text.includes(`${op} ${alarm.Threshold}`) || (text.includes(op) && text.includes(`(default ${alarm.Threshold})`)), `${name}: ${op} ${alarm.Threshold}`).toBe(true);
    }
  });
});
