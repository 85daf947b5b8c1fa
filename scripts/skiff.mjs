#!/usr/bin/env node
// The `skiff` bin: registers tsx so the TypeScript sources run as they are, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../core/cli/main.ts');
