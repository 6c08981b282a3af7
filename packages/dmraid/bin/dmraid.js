#!/usr/bin/env node
// The meta-package's command: the CLI, which finds the handlers installed beside it.
import { main } from '@dmraid/cli';
void main();
