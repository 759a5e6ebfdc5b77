/**
 * Property tests are deterministic: one fixed seed for every run (CI and local alike), so a green suite
 * stays green. To explore other cases, run with FC_SEED=<number> (a failure prints its seed and path).
 */
import fc from "fast-check";

const seed = Number(process.env["FC_SEED"] ?? 20261127);
fc.configureGlobal({ seed });
