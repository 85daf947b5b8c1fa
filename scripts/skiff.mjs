#!/usr/bin/env node
// The `skiff` bin: registers tsx so the TypeScript sources run as they are, then hands over to the CLI.
// The repository's tsconfig is named explicitly so that its `paths` (skiff/sdk, for plugins loaded by
// path from anywhere) apply whatever the working directory is.
// The CLI runs in this process, not in a child, so a signal sent to this PID reaches it. Started
// through npm (`npx skiff`, `npm start`), npm's `sh -c` sits in between: npm hands a SIGTERM to that
// shell, which dies of it without passing it on, so the long-running commands also stop when the
// shell exits (core/cli/stop-on-signals.ts).
import { register } from 'tsx/esm/api';

register({ tsconfig: new URL('../tsconfig.json', import.meta.url).pathname });
await import('../core/cli/main.ts');
