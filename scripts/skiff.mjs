#!/usr/bin/env node
// The `skiff` bin: registers tsx so the TypeScript sources run as they are, then hands over to the CLI.
// The repository's tsconfig is named explicitly so that its `paths` (skiff/sdk, for plugins loaded by
// path from anywhere) apply whatever the working directory is.
import { register } from 'tsx/esm/api';

register({ tsconfig: new URL('../tsconfig.json', import.meta.url).pathname });
await import('../core/cli/main.ts');
