// The container's HEALTHCHECK: exits 0 when GET /health/live answers 200 on this host, else 1.
// The port is the first argument (a worker's METRICS_PORT), else PORT, else 8000.
const port = Number(process.argv[2] ?? process.env.PORT ?? 8000);
try {
  const res = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(3000) });
  process.exitCode = res.ok ? 0 : 1;
} catch {
  process.exitCode = 1;
}
