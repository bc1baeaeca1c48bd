/** An error of the API shown next to what it is about, announced to screen readers. */
export function ErrorText({ id, message }: { id?: string; message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="error-text" id={id} role="alert">
      {message}
    </p>
  );
}
