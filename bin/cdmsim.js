#!/usr/bin/env node
// The cdmsim command. The TypeScript sources are compiled to dist/ by `npm ci` (prepare).
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
let mod;
try {
  mod = await import("../dist/cli/main.js");
} catch (e) {
  if (e && e.code === "ERR_MODULE_NOT_FOUND") {
    process.stderr.write("cdmsim: the compiled code is missing; run `npm ci` (or `npm run build`) first\n");
    process.exit(70);
  }
  throw e;
}
try {
  process.exitCode = await mod.main(process.argv);
} catch (e) {
  process.stderr.write(`cdmsim: internal error (please report it): ${e?.stack ? e.stack : e}\n`);
  process.exitCode = 70;
}
