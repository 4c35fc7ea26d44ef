#!/usr/bin/env node
import { runCli } from './program.js';

// The one thing this module does at load: run the CLI on the process's arguments and exit with its code.
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
