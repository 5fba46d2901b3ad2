// Organisation colours on top of Hydrogen's runtime ("themable") stylesheet.
//
// hydrogen-view-sdk ships the Element theme twice: as compiled CSS with fixed
// colours, and as a runtime stylesheet whose colours are CSS custom properties,
// described by a theme manifest (base variables, derived variables such as
// `accent-color--darker-5`, and icons whose #ff00ff / #00ffff placeholders take
// a variable's colour). We load the runtime stylesheet and compute those
// properties here from the manifest's light variant plus the deployment's
// colours from config.json.
import {offColor} from "off-color";
import manifest from "hydrogen-theme-manifest";

const ASSET_DIR = "assets/";
const PRIMARY_PLACEHOLDER = /#ff00ff/gi;
const SECONDARY_PLACEHOLDER = /#00ffff/gi;
const HEX_COLOUR = /^#[0-9a-f]{6}$/i;

function baseVariables(branding) {
    const variants = manifest.values.variants;
    const light = Object.values(variants).find((v) => v.base) || variants.light;
    const variables = {...light.variables};
    if (typeof branding.primaryColour === "string" && HEX_COLOUR.test(branding.primaryColour)) {
        variables["accent-color"] = branding.primaryColour;
    }
    return variables;
}

function deriveOne(name, variables) {
    const match = /^(.+)--(darker|lighter|alpha)-(\d+)$/.exec(name);
    if (!match) {
        return variables[name];
    }
    const [, baseName, operation, percent] = match;
    const base = variables[baseName];
    if (!base) {
        return undefined;
    }
    const ratio = Number(percent) / 100;
    if (operation === "darker") {
        return offColor(base).darken(ratio).hex();
    }
    if (operation === "lighter") {
        return offColor(base).lighten(ratio).hex();
    }
    return offColor(base).rgba(ratio);
}

/** Compute every CSS variable the runtime stylesheet uses, except icons. */
export function computeVariables(branding) {
    const variables = baseVariables(branding);
    for (const spec of manifest.source["derived-variables"]) {
        const [alias, target] = spec.includes("=") ? spec.split("=", 2) : [null, spec];
        const value = deriveOne(target, variables);
        if (value !== undefined) {
            variables[target] = value;
            if (alias) {
                variables[alias] = value;
            }
        }
    }
    return variables;
}

async function colouredIcon(spec, variables, cache) {
    const [file, query = ""] = spec.split("?", 2);
    if (!cache.has(file)) {
        cache.set(file, fetch(ASSET_DIR + file).then((r) => {
            if (!r.ok) {
                throw new Error(`icon ${file}: HTTP ${r.status}`);
            }
            return r.text();
        }));
    }
    let svg = await cache.get(file);
    const params = new URLSearchParams(query);
    const primary = variables[params.get("primary")];
    const secondary = variables[params.get("secondary")];
    if (primary) {
        svg = svg.replace(PRIMARY_PLACEHOLDER, primary);
    }
    if (secondary) {
        svg = svg.replace(SECONDARY_PLACEHOLDER, secondary);
    }
    return `url("data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}")`;
}

function loadStylesheet(href) {
    return new Promise((resolve, reject) => {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = href;
        link.className = "theme";
        link.onload = () => resolve();
        link.onerror = () => reject(new Error(`Could not load the stylesheet ${href}`));
        document.head.append(link);
    });
}

/**
 * Load Hydrogen's runtime stylesheet and set its colours and icons.
 * @param {{primaryColour?: string}} branding
 */
export async function applyTheme(branding) {
    const variables = computeVariables(branding);
    const style = document.documentElement.style;
    for (const [name, value] of Object.entries(variables)) {
        style.setProperty(`--${name}`, value);
    }
    const icons = manifest.source.icon || {};
    const cache = new Map();
    const iconValues = await Promise.all(Object.entries(icons).map(
        async ([name, spec]) => [name, await colouredIcon(spec, variables, cache)]));
    for (const [name, value] of iconValues) {
        style.setProperty(`--${name}`, value);
    }
    await loadStylesheet(ASSET_DIR + manifest.source["runtime-asset"]);
}
