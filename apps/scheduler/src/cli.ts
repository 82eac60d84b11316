/**
 * Entry point of the `ksched` command (see bin/ksched.js).
 *
 * @module
 */
import { runCli } from './program.js';

const code = await runCli(process.argv);
// Kafka clients can leave timers behind after closing; the command is done, so leave now.
process.exit(code);
