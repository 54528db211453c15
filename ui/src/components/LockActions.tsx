// What the caller's role allows on a lock: operator enables, disables, edits and force-releases;
// admin also deletes. A viewer sees no buttons (the server would refuse them anyway).
import { Alert, Button, Flex, FlexItem } from '@patternfly/react-core';
import { useState } from 'react';
import { api, lockPath, type Lock } from '../api';
import { useCan } from '../session';
import { ConfirmButton } from './Confirm';
import { EditLockButton } from './LockForm';
import { ReleaseButton } from './ReleaseDialog';

interface Props {
  lock: Lock;
  onChanged(): void;
  onDeleted(): void;
}

export function LockActions({ lock, onChanged, onDeleted }: Props) {
  const operator = useCan('operator');
  const admin = useCan('admin');
  const [error, setError] = useState<string>();
  if (!operator) return null;

  const act = async (method: string, body?: unknown) => {
    setError(undefined);
    try {
      await api(method, lockPath(lock.id), body);
      return true;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    }
  };
  const update = async (body: unknown) => {
    if (await act('PUT', body)) onChanged();
  };

  return (
    <>
      <Flex spaceItems={{ default: 'spaceItemsSm' }} data-testid="lock-actions">
        <FlexItem>
          {lock.enabled ? (
            <Button variant="secondary" onClick={() => void update({ enabled: false })}>
              Disable
            </Button>
          ) : (
            <Button variant="secondary" onClick={() => void update({ enabled: true })}>
              Enable
            </Button>
          )}
        </FlexItem>
        <FlexItem>
          <EditLockButton lock={lock} onSaved={onChanged} />
        </FlexItem>
        {lock.holders.length > 0 && (
          <FlexItem>
            <ReleaseButton lock={lock} onReleased={onChanged} />
          </FlexItem>
        )}
        {admin && (
          <FlexItem>
            <ConfirmButton
              label="Delete"
              title={`Delete ${lock.name}?`}
              onConfirm={async () => {
                if (await act('DELETE')) onDeleted();
              }}
            >
              The lock and all its events are deleted. A host asking for it later creates it anew.
            </ConfirmButton>
          </FlexItem>
        )}
      </Flex>
      {error && <Alert variant="danger" isInline title={error} data-testid="action-error" />}
    </>
  );
}
