// A button whose action runs only after the user confirms it in a dialog (delete, force release).
import { Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { useState, type ReactNode } from 'react';

interface Props {
  label: string;
  title: string;
  children: ReactNode;
  variant?: 'danger' | 'secondary' | 'warning';
  onConfirm(): Promise<void> | void;
  onOpen?(): void;
}

export function ConfirmButton({ label, title, children, variant = 'danger', onConfirm, onOpen }: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };
  return (
    <>
      <Button
        variant={variant}
        onClick={() => {
          onOpen?.();
          setOpen(true);
        }}
      >
        {label}
      </Button>
      <Modal variant="small" isOpen={open} onClose={() => setOpen(false)} aria-labelledby="confirm-title">
        <ModalHeader title={title} labelId="confirm-title" />
        <ModalBody>{children}</ModalBody>
        <ModalFooter>
          <Button variant="danger" onClick={() => void confirm()} isLoading={busy} isDisabled={busy}>
            {label}
          </Button>
          <Button variant="link" onClick={() => setOpen(false)}>
            Cancel
          </Button>
        </ModalFooter>
      </Modal>
    </>
  );
}
