/** A signing secret, shown once: after this the API never answers it again. */
export function SecretOnce({ secret, endpointId }: { secret: string; endpointId: string }) {
  return (
    <div className="notice" role="status" data-testid={`secret-${endpointId}`}>
      <p>
        <strong>Signing secret — copy it now, it will not be shown again:</strong>
      </p>
      <code className="record-value" data-testid="webhook-secret">
        {secret}
      </code>
    </div>
  );
}
