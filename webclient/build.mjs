// Build the Carebridge staff web client into dist/ (served by bridge/webclient.py).
// src/main.js (Preact + htm on matrix-js-sdk) is bundled and minified into app.js,
// src/carebridge.css into carebridge.css, static/ is copied as is, emoji.json is written
// from the emojibase-data package (the picker's list, fetched on first use) and sw.js
// (the service worker) gets the list of shell files and a version from their content.
// The build goes
// to dist.tmp/ first and is renamed into place, so a running server never sees half a
// build. Nothing deployment-specific is baked in: the server generates config.json.
import {build, transform} from "esbuild";
import {createHash} from "node:crypto";
import {cp, mkdir, readdir, readFile, rename, rm, writeFile} from "node:fs/promises";
import {dirname, join, relative} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const outDir = join(root, "dist");
const tmpDir = join(root, "dist.tmp");

/** The emoji list the picker reads: [char, name, group, search words], groups by name. */
async function writeEmoji(dir) {
    const data = JSON.parse(await readFile(join(root, "node_modules", "emojibase-data", "en", "compact.json"), "utf8"));
    const messages = JSON.parse(await readFile(join(root, "node_modules", "emojibase-data", "en", "messages.json"), "utf8"));
    const COMPONENT = 2; // skin tones and hair: not emoji of their own
    const groups = messages.groups.filter((g) => g.order !== COMPONENT).sort((a, b) => a.order - b.order);
    const index = new Map(groups.map((g, i) => [g.order, i]));
    const emoji = data
        .filter((e) => index.has(e.group))
        .sort((a, b) => a.order - b.order)
        .map((e) => [e.unicode, e.label, index.get(e.group), (e.tags || []).join(" ")]);
    const label = (text) => text.charAt(0).toUpperCase() + text.slice(1);
    await writeFile(join(dir, "emoji.json"), JSON.stringify({groups: groups.map((g) => label(g.message)), emoji}));
}

async function files(dir) {
    const found = [];
    for (const entry of await readdir(dir, {withFileTypes: true})) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) found.push(...await files(path));
        else found.push(path);
    }
    return found;
}

/** sw.js with the shell's file list and a version that changes with any shell file. */
async function writeServiceWorker(dir) {
    const skip = new Set(["emoji.json", "sw.js"]);
    const shell = (await files(dir)).map((p) => relative(dir, p).split("\\").join("/"))
        .filter((p) => !skip.has(p) && !p.startsWith(".")).sort();
    const hash = createHash("sha256");
    for (const path of shell) hash.update(path).update(await readFile(join(dir, path)));
    const source = (await readFile(join(root, "src", "sw.js"), "utf8"))
        .replace('"__VERSION__"', JSON.stringify(hash.digest("hex").slice(0, 16)))
        .replace("__SHELL__", JSON.stringify(shell));
    const {code} = await transform(source, {minify: true, target: "es2022", legalComments: "none"});
    await writeFile(join(dir, "sw.js"), code);
}

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
    await writeEmoji(tmpDir);
    await writeServiceWorker(tmpDir);
    await rm(outDir, {recursive: true, force: true});
    await rename(tmpDir, outDir);
    console.log(`web client built in ${outDir}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
