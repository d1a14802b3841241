#!/usr/bin/env node
// The `mailsystem` command. In a checkout (src/ beside this folder, tsx installed) it runs the
// TypeScript source, so it is always the code you see; in an install or the container image it
// runs the compiled dist/main/cli.js (`npm run build:server`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/main/cli.ts', import.meta.url));
let compiled = true;
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    compiled = false;
  } catch {
    // No tsx (a production install): the compiled code below.
  }
}
await import(compiled ? '../dist/main/cli.js' : '../src/main/cli.ts');
