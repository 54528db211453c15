// A lock's health gates and how each fared at its last check (only from a server with gates):
// a failing gate is why new holders are refused, so it is the first thing the page says.
import { Label } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { Gate, GateStatus } from '../api';
import { Time } from './Time';

/** What a gate checks, in one line: its target without the credentials' name. */
function gateTarget(g: Gate): string {
  const parts = [g.url, g.query, Array.isArray(g.matchers) ? g.matchers.join(', ') : undefined, g.min]
    .filter((p) => typeof p === 'string' && p !== '')
    .map(String);
  return parts.join(' · ');
}

export function GateTable({ gates, status = [] }: { gates: Gate[]; status?: GateStatus[] }) {
  if (gates.length === 0)
    return <p data-testid="gates">No gates: new holders are admitted by the limits alone.</p>;
  const byName = new Map(status.map((s) => [s.name, s]));
  return (
    <Table aria-label="Gates" variant="compact" gridBreakPoint="grid-md" data-testid="gates">
      <Thead>
        <Tr>
          <Th>Gate</Th>
          <Th>Type</Th>
          <Th>Checks</Th>
          <Th>Status</Th>
          <Th>Checked</Th>
        </Tr>
      </Thead>
      <Tbody>
        {gates.map((g) => {
          const s = byName.get(g.name);
          return (
            <Tr key={g.name} data-testid={`gate-${g.name}`}>
              <Td dataLabel="Gate" className="kh-name">
                {g.name}
              </Td>
              <Td dataLabel="Type">{g.type}</Td>
              <Td dataLabel="Checks" className="kh-wrap">
                {gateTarget(g)}
              </Td>
              <Td dataLabel="Status" data-testid="gate-status">
                {s === undefined ? (
                  <Label isCompact>not checked yet</Label>
                ) : s.ok ? (
                  <Label isCompact color="green">
                    passing
                  </Label>
                ) : (
                  <>
                    <Label isCompact color="red">
                      failing
                    </Label>{' '}
                    {s.detail}
                  </>
                )}
              </Td>
              <Td dataLabel="Checked">
                <Time value={s?.checked_at} never="—" />
              </Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}
