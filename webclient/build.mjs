// Build the Carebridge staff web client into dist/ (served by bridge/webclient.py).
// src/main.js (Preact + htm on matrix-js-sdk) is bundled and minified into app.js,
// src/carebridge.css into carebridge.css, and static/ is copied as is. The build goes
// to dist.tmp/ first and is renamed into place, so a running server never sees half a
// build. Nothing deployment-specific is baked in: the server generates config.json.
import {build} from "esbuild";
import {cp, mkdir, rename, rm} from "node:fs/promises";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const outDir = join(root, "dist");
const tmpDir = join(root, "dist.tmp");

async function main() {
    await rm(tmpDir, {recursive: true, force: true});
    await mkdir(tmpDir, {recursive: true});
    await build({
        entryPoints: [join(root, "src", "main.js")],
        outfile: join(tmpDir, "app.js"),
        bundle: true,
        format: "esm",
        platform: "browser",
        mainFields: ["browser", "module", "main"],
        target: ["es2022"],
        minify: true,
        sourcemap: false,
        legalComments: "eof",
        define: {"process.env.NODE_ENV": '"production"', global: "globalThis"},
        logLevel: "warning",
    });
    await build({
        entryPoints: [join(root, "src", "carebridge.css")],
        outdir: tmpDir,
        bundle: true,
        minify: true,
        logLevel: "warning",
    });
    await cp(join(root, "static"), tmpDir, {recursive: true});
    await rm(outDir, {recursive: true, force: true});
    await rename(tmpDir, outDir);
    console.log(`web client built in ${outDir}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
