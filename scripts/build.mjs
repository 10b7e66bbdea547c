// `npm run build [-- --out-dir DIR]`: compiles src/ and gen/ with tsconfig.build.json,
// then copies what the compiled server reads from beside its modules at run time: the
// dashboard's page, stylesheet and icon, and its browser sources (bundled on first
// request, as from the source tree).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const flag = process.argv.indexOf("--out-dir");
const outDir = flag >= 0 ? resolve(process.argv[flag + 1] ?? "") : join(root, "dist");

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", outDir, "--tsBuildInfoFile", join(outDir, ".tsbuildinfo")], {
  stdio: "inherit",
});

const dashboard = join(root, "src", "dashboard");
const dashboardOut = join(outDir, "src", "dashboard");
mkdirSync(dashboardOut, { recursive: true });
for (const file of ["index.html", "dashboard.css", "icon.svg"]) cpSync(join(dashboard, file), join(dashboardOut, file));
cpSync(join(dashboard, ".app"), join(dashboardOut, ".app"), { recursive: true });
