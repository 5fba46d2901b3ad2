// Carebridge web client bootstrap.
//
// Runs the full Hydrogen application (RootViewModel + RootView from
// hydrogen-view-sdk) the same way Hydrogen's own entry point does, but reads the
// deployment's settings from the config.json that the Carebridge server
// generates at run time, so one build serves every deployment.
import {
    Platform,
    RootViewModel,
    createNavigation,
    createRouter,
    FeatureSet,
} from "hydrogen-view-sdk";
import {applyBranding} from "./branding.js";
import {applyTheme} from "./theme.js";
import {explainRefusals} from "./notices.js";
import {explainRefusedLogins} from "./loginerrors.js";
import {openCreatedRooms} from "./rooms.js";
import {applyPlainWording} from "./wording.js";

// Paths are relative to index.html so the client also works below a path prefix.
// Hydrogen needs every one of them: without `serviceWorker` login fails, because
// authenticated media (MSC3916) and session hand-over go through the worker.
const assetPaths = {
    downloadSandbox: "assets/download-sandbox.html",
    worker: "assets/main.js",
    serviceWorker: "sw.js",
    olm: {
        wasm: "olm/olm.wasm",
        legacyBundle: "olm/olm_legacy.js",
        wasmBundle: "olm/olm.js",
    },
};

async function loadConfig() {
    const response = await fetch("config.json", {cache: "no-store", credentials: "same-origin"});
    if (!response.ok) {
        throw new Error(`Could not load the deployment settings (config.json answered HTTP ${response.status}).`);
    }
    const config = await response.json();
    if (typeof config.defaultHomeServer !== "string" || !config.defaultHomeServer) {
        throw new Error("The deployment settings name no homeserver (defaultHomeServer).");
    }
    return config;
}

// After a logout Hydrogen shows its account picker, even with no account left
// to pick; staff expect the sign-in form, so send them there.
function skipEmptyAccountPicker(platform, navigation) {
    const check = async () => {
        const segment = navigation.path.get("session");
        if (segment && segment.value === true) {
            const sessions = await platform.sessionInfoStorage.getAll();
            if (sessions.length === 0) {
                navigation.push("login");
            }
        }
    };
    navigation.observe("session").subscribe(() => void check());
    return check();
}

function showFatalError(container, err) {
    container.textContent = "";
    const box = document.createElement("div");
    box.className = "cb-fatal";
    const title = document.createElement("h1");
    title.textContent = "The messenger could not start";
    const detail = document.createElement("p");
    detail.textContent = err && err.message ? err.message : String(err);
    box.append(title, detail);
    container.append(box);
}

async function main() {
    const container = document.body;
    try {
        const config = await loadConfig();
        const branding = config.carebridge || {};
        applyBranding(branding, container);
        applyPlainWording(container);
        await applyTheme(branding);
        const platform = new Platform({container, assetPaths, config, options: {development: false}});
        explainRefusals(platform);
        explainRefusedLogins(platform, container);
        await platform.init();
        const features = await FeatureSet.load(platform.settingsStorage);
        const navigation = createNavigation();
        platform.setNavigation(navigation);
        openCreatedRooms(platform, navigation, container);
        const urlRouter = createRouter({navigation, history: platform.history});
        urlRouter.attach();
        const vm = new RootViewModel({platform, urlRouter, navigation, features});
        await vm.load();
        platform.createAndMountRootView(vm);
        await skipEmptyAccountPicker(platform, navigation);
    } catch (err) {
        console.error("Carebridge web client failed to start", err);
        showFatalError(container, err);
    }
}

main();
