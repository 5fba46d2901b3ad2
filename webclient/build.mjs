// Build the Carebridge web client into dist/.
//
// dist/ is a complete static Hydrogen app: index.html, app.js (our bootstrap +
// hydrogen-view-sdk's ES build, bundled by esbuild), carebridge.css, Hydrogen's
// assets (theme, fonts, icons, olm worker, download sandbox), olm and the
// service worker sw.js at the root (its scope must cover the whole app).
// Nothing deployment-specific is baked in: the server generates config.json.
import {build} from "esbuild";
import {cp, mkdir, readdir, readFile, rename, rm, writeFile} from "node:fs/promises";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const sdkDir = join(root, "node_modules", "hydrogen-view-sdk");
const sdkAssets = join(sdkDir, "asset-build", "assets");
const olmDir = join(root, "node_modules", "@matrix-org", "olm");
const outDir = join(root, "dist");
const tmpDir = join(root, "dist.tmp");

async function findOne(dir, pattern, what) {
    const matches = (await readdir(dir)).filter((name) => pattern.test(name));
    if (matches.length !== 1) {
        throw new Error(`expected exactly one ${what} in ${dir}, found ${matches.length}`);
    }
    return join(dir, matches[0]);
}

// Hydrogen's download sandbox is an iframe page with an inline script. Moving
// that script into its own file lets the server's CSP forbid inline scripts.
async function externaliseSandboxScript(assetsOut) {
    const htmlPath = join(assetsOut, "download-sandbox.html");
    const html = await readFile(htmlPath, "utf8");
    const inline = /<script type="text\/javascript">([\s\S]*?)<\/script>/g;
    const scripts = [...html.matchAll(inline)];
    if (scripts.length !== 1) {
        throw new Error(`download-sandbox.html: expected one inline script, found ${scripts.length}`);
    }
    await writeFile(join(assetsOut, "download-sandbox.js"), scripts[0][1]);
    const rewritten = html.replace(inline, '<script src="download-sandbox.js"></script>');
    await writeFile(htmlPath, rewritten);
}

// hydrogen-view-sdk's ES build has a side-effect `import "@matrix-org/olm/olm.js"`,
// but Platform.loadOlm() loads olm itself with a <script> tag (and the wasm file
// next to it), so the bundle gets an empty module instead of a second olm copy.
const olmSideEffectImport = {
    name: "olm-loaded-at-runtime",
    setup(b) {
        b.onResolve({filter: /^@matrix-org\/olm\/olm\.js$/}, () => ({path: "olm", namespace: "empty"}));
        b.onLoad({filter: /.*/, namespace: "empty"}, () => ({contents: "", loader: "js"}));
    },
};

async function main() {
    const manifest = await findOne(sdkAssets, /^theme-element-[0-9a-f]+\.json$/, "theme manifest");
    await rm(tmpDir, {recursive: true, force: true});
    await mkdir(tmpDir, {recursive: true});

    await build({
        entryPoints: [join(root, "src", "main.js")],
        outfile: join(tmpDir, "app.js"),
        bundle: true,
        format: "esm",
        platform: "browser",
        target: ["es2020"],
        minify: true,
        sourcemap: false,
        legalComments: "eof",
        alias: {"hydrogen-theme-manifest": manifest},
        plugins: [olmSideEffectImport],
        logLevel: "warning",
    });
    await build({
        entryPoints: [join(root, "src", "password.js")],
        outfile: join(tmpDir, "password.js"),
        bundle: true,
        format: "esm",
        platform: "browser",
        target: ["es2020"],
        minify: true,
        logLevel: "warning",
    });
    await build({
        entryPoints: [join(root, "src", "carebridge.css"), join(root, "src", "password.css")],
        outdir: tmpDir,
        bundle: true,
        minify: true,
        logLevel: "warning",
    });

    const assetsOut = join(tmpDir, "assets");
    await cp(sdkAssets, assetsOut, {recursive: true});
    await externaliseSandboxScript(assetsOut);
    await cp(join(sdkDir, "lib-build", "sw.js"), join(tmpDir, "sw.js"));
    await mkdir(join(tmpDir, "olm"));
    for (const name of ["olm.js", "olm.wasm", "olm_legacy.js"]) {
        await cp(join(olmDir, name), join(tmpDir, "olm", name));
    }
    await cp(join(root, "static"), tmpDir, {recursive: true});

    await rm(outDir, {recursive: true, force: true});
    await rename(tmpDir, outDir);
    console.log(`web client built in ${outDir}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
