// What every HR form shares: run one command, say how it went in a status line (the server's
// own words when it refuses), then refresh what the page reads.
import { useState } from "react";
import { CommandError } from "../../api";
import { useT, type Key } from "../../i18n";

/** `run(act)` sends a command and sets `message`; `onDone` refreshes after a success. */
export function useRun(onDone: () => void) {
  const t = useT();
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (act: () => Promise<unknown>) => {
    setMessage(null);
    setBusy(true);
    try {
      await act();
      setMessage(t("done"));
      onDone();
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    } finally {
      setBusy(false);
    }
  };
  return { message, busy, run };
}

export function Status({ message, testId }: { message: string | null; testId: string }) {
  return (
    <p className="message" role="status" data-testid={testId}>
      {message ?? ""}
    </p>
  );
}

/** A button for what cannot be undone: the first click asks, the second acts. */
export function ConfirmButton({
  label,
  ask,
  testId,
  disabled,
  onConfirm,
}: {
  label: Key;
  ask: Key;
  testId: string;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const t = useT();
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" disabled={disabled} onClick={() => setAsking(true)} data-testid={testId}>
        {t(label)}
      </button>
    );
  return (
    <span>
      {t(ask)}{" "}
      <button
        type="button"
        disabled={disabled}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
        data-testid={`${testId}-confirm`}
      >
        {t(label)}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        {t("cancel")}
      </button>
    </span>
  );
}

/** One change of a form: its controls under a legend, and a save button that runs it. */
export function SaveField({
  legend,
  disabled,
  testId,
  onSave,
  children,
}: {
  legend: string;
  disabled: boolean;
  testId: string;
  onSave: () => void;
  children: React.ReactNode;
}) {
  const t = useT();
  return (
    <fieldset>
      <legend>{legend}</legend>
      {children}
      <button disabled={disabled} onClick={onSave} data-testid={testId}>
        {t("save")}
      </button>
    </fieldset>
  );
}
