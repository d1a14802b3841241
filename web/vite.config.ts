import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

// The prefixes the API answers; in development the dev server forwards them to a running API, so
// the console keeps talking to its own origin (no CORS needed) unless VITE_API_BASE says otherwise.
const API_PREFIXES = [
  '/admin',
  '/analytics',
  '/bulk',
  '/dead-letters',
  '/emails',
  '/events',
  '/health',
  '/me',
  '/send',
  '/suppressions',
  '/templates',
];

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(
      API_PREFIXES.map((p) => [p, { target: process.env.MAILSYSTEM_API_URL ?? 'http://127.0.0.1:8000' }]),
    ),
  },
});
