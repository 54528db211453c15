// Force release, as an operator on call needs it: pick one holder of a semaphore (or all),
// see how long each has held it, when its host last checked in and its fencing token, and say
// why. The reason goes into the lock's events next to the operator's name.
import {
  Alert,
  Button,
  Form,
  FormGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Radio,
  TextArea,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useState } from 'react';
import { api, explain, lockPath, type Host, type Lock } from '../api';
import { duration, parseApiTime } from '../format';
import { Time } from './Time';

const ALL = '';

export function ReleaseButton({ lock, onReleased }: { lock: Lock; onReleased(): void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="warning" onClick={() => setOpen(true)}>
        Release…
      </Button>
      {open && <ReleaseDialog lock={lock} onClose={() => setOpen(false)} onReleased={onReleased} />}
    </>
  );
}

function ReleaseDialog({ lock, onClose, onReleased }: { lock: Lock; onClose(): void; onReleased(): void }) {
  const single = lock.holders.length === 1;
  const [host, setHost] = useState(single ? lock.holders[0]!.name : ALL);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [checkins, setCheckins] = useState<Record<string, string | null>>({});

  useEffect(() => {
    // the holders' hosts, for their last check-in; a host the caller may not see stays blank
    for (const h of lock.holders) {
      api<Host>('GET', `/api/hosts/${encodeURIComponent(h.name)}`).then(
        (info) => setCheckins((c) => ({ ...c, [h.name]: info.last_checkin_at })),
        () => undefined,
      );
    }
  }, [lock.holders]);

  const release = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `${lockPath(lock.id)}/release`, { ...(host ? { host } : {}), reason });
      onReleased();
      onClose();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="release-title">
      <ModalHeader title={`Force release ${lock.name}`} labelId="release-title" />
      <ModalBody>
        <Form onSubmit={(e) => e.preventDefault()}>
          <Table aria-label="Holders to release" variant="compact" gridBreakPoint="grid-md">
            <Thead>
              <Tr>
                <Th screenReaderText="Release" />
                <Th>Host</Th>
                <Th>Held for</Th>
                <Th>Last check-in</Th>
                <Th>Fencing token</Th>
              </Tr>
            </Thead>
            <Tbody>
              {lock.holders.map((h) => (
                <Tr key={h.name} data-testid={`release-holder-${h.name}`}>
                  <Td dataLabel="Release">
                    <Radio
                      id={`release-${h.name}`}
                      name="release-host"
                      aria-label={`Release ${h.name}`}
                      isChecked={host === h.name}
                      onChange={() => setHost(h.name)}
                    />
                  </Td>
                  <Td dataLabel="Host" className="kh-name">
                    {h.name}
                  </Td>
                  <Td dataLabel="Held for" data-testid="held-for">
                    {duration(Date.now() - parseApiTime(h.acquired_at).getTime())}
                  </Td>
                  <Td dataLabel="Last check-in">
                    <Time value={checkins[h.name]} never="–" />
                  </Td>
                  <Td dataLabel="Fencing token">{h.fencing_token}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
          {!single && (
            <Radio
              id="release-all"
              name="release-host"
              label={`All ${lock.holders.length} holders`}
              isChecked={host === ALL}
              onChange={() => setHost(ALL)}
            />
          )}
          <FormGroup label="Reason" isRequired fieldId="release-reason">
            <TextArea
              id="release-reason"
              isRequired
              value={reason}
              onChange={(_e, v) => setReason(v)}
              placeholder="e.g. web03 crashed during the patch run; the lock would block the rest"
            />
          </FormGroup>
          {error && <Alert variant="danger" isInline title={error} data-testid="release-error" />}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button
          variant="danger"
          onClick={() => void release()}
          isLoading={busy}
          isDisabled={busy || reason.trim() === ''}
        >
          {host ? `Release ${host}` : 'Release all'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
