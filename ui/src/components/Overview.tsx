// The overview above the locks list: counters that filter the list (held, stale, waiting,
// disabled, outside window, and gate failing where the server has health gates) and hosts
// seen in the last 24 h, and acquisitions/refusals per hour as a small
// chart (plain SVG: a chart library would weigh more than the whole page).
import { Button, Flex, FlexItem } from '@patternfly/react-core';
import { Link } from 'react-router-dom';
import { FILTER_SEARCH, type LockFilterName } from '../locks-query';

export interface OverviewData {
  locks: number;
  held: number;
  stale: number;
  waiting: number;
  disabled: number;
  outside_window: number;
  /** only from a server with health gates */
  gate_failing?: number;
  hosts: number;
  hosts_checked_in_24h: number;
  activity: { hour: string; acquisitions: number; refusals: number }[];
}

export { FILTER_SEARCH, type LockFilterName } from '../locks-query';

/** How the "Showing … locks only" line names a filter. */
export const FILTER_LABEL: Record<LockFilterName, string> = {
  held: 'held',
  stale: 'stale',
  waiting: 'waited-for',
  disabled: 'disabled',
  outside_window: 'outside-window',
  gate_failing: 'gate-failing',
};

interface Props {
  data: OverviewData | undefined;
  filter: string;
  onFilter(filter: LockFilterName | ''): void;
}

export function Counters({ data, filter, onFilter }: Props) {
  const counter = (name: LockFilterName, label: string, attention = false) => {
    const value = data?.[name];
    const active = filter === name;
    const canFilter = FILTER_SEARCH[name] !== undefined;
    return (
      <FlexItem key={name}>
        <Button
          variant={active ? 'primary' : attention && value ? 'warning' : 'tertiary'}
          size="sm"
          aria-pressed={active}
          isDisabled={!canFilter}
          data-testid={`counter-${name}`}
          onClick={() => onFilter(active ? '' : name)}
          title={canFilter ? `Show only the ${FILTER_LABEL[name]} locks` : label}
        >
          <span className="kh-count">{value ?? '–'}</span> {label}
        </Button>
      </FlexItem>
    );
  };
  return (
    <Flex spaceItems={{ default: 'spaceItemsSm' }} className="kh-counters" data-testid="counters">
      {counter('held', 'Held')}
      {counter('stale', 'Stale', true)}
      {counter('waiting', 'Waiting')}
      {counter('disabled', 'Disabled')}
      {counter('outside_window', 'Outside window')}
      {data?.gate_failing !== undefined && counter('gate_failing', 'Gate failing', true)}
      <FlexItem>
        <Link to="/hosts" data-testid="counter-hosts">
          {data ? `${data.hosts_checked_in_24h} of ${data.hosts}` : '–'} hosts checked in within 24 h
        </Link>
      </FlexItem>
    </Flex>
  );
}

export function ActivityChart({ activity }: { activity: OverviewData['activity'] }) {
  if (activity.length === 0) return null;
  const max = Math.max(1, ...activity.map((a) => a.acquisitions + a.refusals));
  const w = 4;
  const h = 40;
  const total = activity.reduce((t, a) => ({ acq: t.acq + a.acquisitions, ref: t.ref + a.refusals }), {
    acq: 0,
    ref: 0,
  });
  const days = Math.round(activity.length / 24);
  return (
    <figure className="kh-chart" data-testid="activity-chart">
      <svg
        viewBox={`0 0 ${activity.length * w} ${h}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Acquisitions and refusals per hour over the last ${days} days`}
      >
        {activity.map((a, i) => {
          const acq = (a.acquisitions / max) * h;
          const ref = (a.refusals / max) * h;
          return (
            <g key={a.hour}>
              <title>{`${a.hour}: ${a.acquisitions} acquired, ${a.refusals} refused`}</title>
              <rect x={i * w} y={h - acq} width={w - 1} height={acq} className="kh-acq" />
              <rect x={i * w} y={h - acq - ref} width={w - 1} height={ref} className="kh-ref" />
            </g>
          );
        })}
      </svg>
      <figcaption>
        Last {days} days, per hour: <span className="kh-acq-key">{total.acq} acquired</span>,{' '}
        <span className="kh-ref-key">{total.ref} refused</span>
      </figcaption>
    </figure>
  );
}
