// Drives the extension in the real VS Code workbench: packages the .vsix, installs it into a
// private code-server, opens a workspace in headless Chromium through playwright-core, and runs
// the commands as a user does (command palette, selections, the answer panel and its buttons, the Problems
// panel) against the real codex-ls and the real `codex app-server`.
//
// tests/vscode.rs runs this with Node 24 and talks to it over stdio, one JSON object a line:
//   stdout  {"event":"started","pgid":N}        code-server runs in process group N
//           {"event":"scenario","step":"..."}   set the mock model's answer for the step, then
//   stdin   {"ok":true}                         tells the script to go on
//   stdout  {"event":"passed","step":"..."}     the step's checks held
//           {"event":"done"}                    every step passed
// A step that needs no model ("startup", "panel") asks for no scenario.
// Anything else (progress, code-server's output) goes to stderr. On a failure the script
// saves a screenshot, prints the reason on stderr and exits 1.
//
// Environment: WORKBENCH_DIR (an empty temp dir), CODEX_LS_BIN, CODEX_LS_CODEX, SCREENSHOTS,
// CODE_SERVER, CHROMIUM; CODEX_HOME and XDG_CACHE_HOME pass through code-server to codex-ls.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const extensionRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const WAIT = 60_000;

function env(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
}

function log(message) {
    process.stderr.write(`[workbench] ${message}\n`);
}

function emit(event) {
    process.stdout.write(`${JSON.stringify(event)}\n`);
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/// Asks the test to set the mock model's scenario for `step` and waits for its answer.
async function scenario(step) {
    emit({ event: "scenario", step });
    const line = await stdinLines.next();
    if (line.done || JSON.parse(line.value).ok !== true) throw new Error(`no scenario for ${step}`);
}

const dir = env("WORKBENCH_DIR");
const screenshots = env("SCREENSHOTS");
const codeServer = env("CODE_SERVER");
mkdirSync(screenshots, { recursive: true });

// ---- the workspace, the settings and code-server's own configuration ----

const workspace = join(dir, "workspace");
const userData = join(dir, "user-data");
const extensions = join(dir, "extensions");
for (const folder of [join(workspace, "src"), join(userData, "User"), extensions]) mkdirSync(folder, { recursive: true });

const SAMPLE = [
    "// Sums the numbers in a list.",
    "pub fn total(values: &[i64]) -> i64 {",
    "    let mut sum = 0;",
    "    for v in values {",
    "        sum += v;",
    "    }",
    "    sum",
    "}",
    "",
].join("\n");
writeFileSync(join(workspace, "src", "lib.rs"), SAMPLE);

// Settings of machine scope (binary paths) are the remote machine's: code-server reads them
// from Machine/settings.json, as a user sets them under "Remote [code-server]".
mkdirSync(join(userData, "Machine"), { recursive: true });
writeFileSync(
    join(userData, "Machine", "settings.json"),
    JSON.stringify({ "codexLs.server.path": env("CODEX_LS_BIN"), "codexLs.codexPath": env("CODEX_LS_CODEX") }, null, 2),
);
writeFileSync(
    join(userData, "User", "settings.json"),
    JSON.stringify(
        {
            "codexLs.trace.server": "verbose",
            "security.workspace.trust.enabled": false,
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": false,
            "workbench.enableExperiments": false,
            "workbench.secondarySideBar.defaultVisibility": "hidden",
            "telemetry.telemetryLevel": "off",
            "extensions.autoUpdate": false,
            "extensions.autoCheckUpdates": false,
            "update.mode": "none",
            "chat.disableAIFeatures": true,
            "editor.minimap.enabled": false,
            "files.autoSave": "off",
            "window.restoreWindows": "none",
        },
        null,
        2,
    ),
);

const config = join(dir, "code-server.yaml");
writeFileSync(config, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
const serverArgs = ["--config", config, "--user-data-dir", userData, "--extensions-dir", extensions];

function run(command, args, what) {
    const result = spawnSync(command, args, { cwd: extensionRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (result.status !== 0) {
        throw new Error(`${what} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

// ---- package and install the extension ----

const vsix = join(dir, "codex-ls.vsix");
log("packaging the extension");
run(process.execPath, ["build.mjs", "--production"], "build.mjs");
run(
    process.execPath,
    [join(extensionRoot, "node_modules", "@vscode", "vsce", "vsce"), "package", "--no-rewrite-relative-links", "-o", vsix],
    "vsce package",
);
log("installing the .vsix into code-server");
const installed = run(process.execPath, [codeServer, ...serverArgs, "--install-extension", vsix], "code-server --install-extension");
if (!/successfully installed/.test(installed) || !readdirSync(extensions).some((name) => name.startsWith("codex-ls.codex-ls-"))) {
    throw new Error(`the extension did not install:\n${installed}`);
}

// ---- code-server, in its own process group ----

const server = spawn(
    process.execPath,
    [
        codeServer,
        ...serverArgs,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--ignore-last-opened",
    ],
    {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
            ...process.env,
            // This environment is already the one to use: the server skips running the login
            // shell to read one (which can take long, or hang on a busy profile).
            VSCODE_CLI: "1",
            // No extension gallery: nothing leaves the machine.
            EXTENSIONS_GALLERY: "{}",
        },
    },
);
emit({ event: "started", pgid: server.pid });
let serverOutput = "";
const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${serverOutput}`)), WAIT);
    const onData = (chunk) => {
        serverOutput += chunk;
        process.stderr.write(chunk);
        const match = /HTTP server listening on (http:\/\/\S+?)\/?\s/.exec(serverOutput);
        if (match) {
            clearTimeout(timer);
            resolve(match[1]);
        }
    };
    server.stdout.setEncoding("utf8").on("data", onData);
    server.stderr.setEncoding("utf8").on("data", onData);
    server.on("exit", (code) => reject(new Error(`code-server exited (${code}):\n${serverOutput}`)));
});

/// Ends code-server and everything it started (extension host, codex-ls, codex): SIGTERM to
/// the group, then SIGKILL to whatever is left.
async function stopServer() {
    const pgid = server.pid;
    if (pgid === undefined) return;
    const alive = () => {
        try {
            process.kill(-pgid, 0);
            return true;
        } catch {
            return false;
        }
    };
    try {
        process.kill(-pgid, "SIGTERM");
    } catch {
        return;
    }
    const deadline = Date.now() + 5000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (alive()) process.kill(-pgid, "SIGKILL");
}

/// The files of the extension's output channels (`name` matches their file names), which VS
/// Code keeps under the user data dir's logs.
function outputChannelFiles(name) {
    const files = [];
    const walk = (folder) => {
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
            const path = join(folder, entry.name);
            if (entry.isDirectory()) walk(path);
            else if (name.test(entry.name)) files.push(path);
        }
    };
    try {
        walk(join(userData, "logs"));
    } catch {
        // No logs yet.
    }
    return files;
}

/// The protocol trace, one entry per message ("[Trace - time] Sending ...", then its payload).
function traceEntries() {
    return outputChannelFiles(/Codex Language Server Trace/).flatMap((file) =>
        readFileSync(file, "utf8").split(/^(?=\[Trace - )/m),
    );
}

/// Prints the end of the extension's output channels (the server's log and the protocol
/// trace) and keeps a copy of each beside the screenshots.
function printOutputChannels() {
    for (const file of outputChannelFiles(/Codex Language Server/)) {
        const text = readFileSync(file, "utf8");
        const lines = text.split("\n");
        log(`--- ${file} (last 60 lines) ---\n${lines.slice(-60).join("\n")}`);
        writeFileSync(join(screenshots, basename(file)), text);
    }
}

// ---- the browser ----

const browser = await chromium.launch({
    executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium",
    headless: true,
    args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
page.setDefaultTimeout(WAIT);

let stepName = "startup";
async function screenshot(name) {
    await page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/// The answer panel's page (a webview: an iframe in an iframe).
function answerPanel() {
    return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
}

/// The panel's entry for the extension's `id`th run (the extension numbers runs from 1).
function entry(id) {
    return answerPanel().locator(`article.entry[data-id="${id}"]`);
}

async function runCommand(title) {
    const input = page.locator(".quick-input-widget input");
    const item = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
    // The palette can close again under us (a late Escape, focus moving to
    // an editor that is still opening): open it until the command shows.
    await waitFor(`the command palette to offer ${title}`, async () => {
        if (!(await input.isVisible())) await page.keyboard.press("F1");
        const typed = await input
            .fill(`>${title}`, { timeout: 2000 })
            .then(() => true)
            .catch(() => false);
        if (!typed) return "the palette closed before the title was typed";
        return (await item
            .waitFor({ state: "visible", timeout: 2000 })
            .then(() => true)
            .catch(() => false)) || "the command is not listed yet";
    });
    await input.press("Enter");
}

/// Selects whole lines `first` to `last` (one-based) of the active editor.
async function selectLines(first, last) {
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+g");
    await page.locator(".quick-input-widget", { hasText: "Type a line number" }).waitFor();
    const input = page.locator(".quick-input-widget input");
    await input.fill(`:${first}`);
    await input.press("Enter");
    await page.keyboard.press("Home");
    await page.keyboard.press("Home");
    for (let line = first; line <= last; line++) await page.keyboard.press("Shift+ArrowDown");
}

/// Runs "Codex: Ask" on lib.rs with `question`.
async function ask(question) {
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    await runCommand("Codex: Ask");
    // The input box replaces the palette in the same widget: wait for its own prompt.
    await page.locator(".quick-input-widget", { hasText: "Ask Codex about src/lib.rs" }).waitFor();
    const input = page.locator(".quick-input-widget input");
    await input.fill(question);
    await input.press("Enter");
}

/// Whether the protocol trace shows the server asking `method` of the extension.
function serverAsked(method) {
    return traceEntries().some((entry) => entry.startsWith(`[Trace - `) && entry.includes(`Received request '${method}`));
}

async function expectEntries(count) {
    const shown = await answerPanel().locator("article.entry").count();
    if (shown !== count) throw new Error(`the answer panel shows ${shown} entries, not ${count}`);
}

async function editorText() {
    const text = await page.locator(".monaco-editor .view-lines").first().innerText();
    return text.replace(/\u00a0/g, " ");
}

async function waitFor(what, condition) {
    const deadline = Date.now() + WAIT;
    let last;
    while (Date.now() < deadline) {
        last = await condition();
        if (last === true) return;
        await page.waitForTimeout(100);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/// lib.rs in an editor of its own (the diff editor of a proposal has lib.rs's lines too).
function libEditor() {
    return page.locator(".editor-group-container:has(.tab.active[aria-label^='lib.rs']) .monaco-editor .view-lines").first();
}

async function libText() {
    return (await libEditor().innerText()).replace(/\u00a0/g, " ");
}

/// Checks that lib.rs still reads `text`, with lib.rs's own editor brought forward (a proposal's
/// diff editor may cover it), then brings the proposal back if one is open.
async function expectUnchanged(text, failure) {
    await page.locator(".tab", { hasText: /^lib\.rs/ }).first().click();
    const now = await libText();
    if (now !== text) throw new Error(`${failure}: ${JSON.stringify(now)}`);
    const proposal = page.locator(".tab", { hasText: "(proposed)" });
    if ((await proposal.count()) > 0) await proposal.first().click();
}

/// Rewrites line 3 of lib.rs with the Simplify preset (with editPreview: a proposal).
async function rewriteLine3() {
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    await selectLines(3, 3);
    await runCommand("Codex: Rewrite Selection");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "Simplify" }).first().waitFor();
    await page.locator(".quick-input-widget input").fill("Simplify");
    await page.locator(".quick-input-widget input").press("Enter");
}

/// Waits for the run's proposal: its entry offers Accept and Reject, and the diff editor shows
/// the replacement (`marker`) on its right side.
async function proposalShown(run, marker) {
    await waitFor("the proposal's Accept button in the panel", async () => {
        if ((await run.locator("button[data-action='acceptProposal']").count()) > 0) return true;
        const error = await run.locator(".entry-error").allInnerTexts();
        if (error.length > 0) throw new Error(`the previewed rewrite failed: ${error.join(" ")}`);
        return "no Accept button yet";
    });
    // The group whose active tab is the proposal; the selected text on the left has no marker.
    await page.locator(".tab.active", { hasText: "(proposed)" }).waitFor();
    const diff = page.locator(".editor-group-container:has(.tab.active:has-text('(proposed)')) .monaco-diff-editor").first();
    await waitFor("the proposal in the diff editor", async () => {
        const text = (await diff.isVisible()) ? await diff.innerText() : "";
        return text.replace(/\u00a0/g, " ").includes(marker) || `the diff editor shows ${JSON.stringify(text)}`;
    });
}

try {
    // ---- startup: the workbench loads, the extension finds codex-ls ----
    log(`opening ${url}`);
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator(".monaco-workbench").waitFor();
    // The status bar item says "ready" once the extension has found and started codex-ls.
    await page.locator(".part.statusbar [aria-label^='Codex: ready']").first().waitFor();

    await page.keyboard.press("Control+p");
    const quickOpen = page.locator(".quick-input-widget input");
    await quickOpen.waitFor({ state: "visible" });
    await quickOpen.fill("lib.rs");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "lib.rs" }).first().waitFor();
    await quickOpen.press("Enter");
    await page.locator(".tab.active", { hasText: "lib.rs" }).waitFor();
    await waitFor("the file in the editor", async () => (await editorText()).includes("let mut sum = 0;") || undefined);
    await screenshot("01-startup");
    emit({ event: "passed", step: "startup" });

    // ---- explain: the mocked answer streams into the answer panel ----
    stepName = "explain";
    await scenario(stepName);
    await selectLines(2, 8);
    await runCommand("Codex: Explain Selection");
    const explained = entry(1);
    await answerPanel().locator("article.entry[data-id='1'][data-phase='completed']").waitFor();
    const answer = await explained.locator(".entry-answer").innerText();
    for (const expected of ["adds up the values", "values.iter().sum()"]) {
        if (!answer.includes(expected)) throw new Error(`the answer panel shows ${JSON.stringify(answer)}, not ${expected}`);
    }
    const scope = await explained.locator(".entry-scope").innerText();
    if (!scope.includes("lines 2-8")) throw new Error(`the entry's scope is ${JSON.stringify(scope)}`);
    await explained.locator(".code-block button[data-action='insert']").waitFor();
    await screenshot("02-explain");
    emit({ event: "passed", step: stepName });

    // ---- cancel: a click on Cancel while the answer streams cancels the run. A click is a press
    // and a release on the same node; the button is held down until a report has changed the
    // entry, so a panel that redraws the entry on each report loses the click ----
    stepName = "cancel";
    await scenario(stepName);
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    await selectLines(2, 8);
    await runCommand("Codex: Explain Selection");
    const streaming = entry(2);
    const streamed = () => streaming.locator(".entry-answer").innerText();
    await waitFor("the answer to stream", async () => (await streamed()).includes("word 3") || "no text yet");
    const cancelBox = await streaming.locator("button[data-action='cancel']").boundingBox();
    if (!cancelBox) throw new Error("the streaming entry has no Cancel button");
    await page.mouse.move(cancelBox.x + cancelBox.width / 2, cancelBox.y + cancelBox.height / 2);
    await page.mouse.down();
    const held = await streamed();
    await waitFor("more text while Cancel is held down", async () => (await streamed()) !== held || "no new text");
    await page.mouse.up();
    await answerPanel().locator("article.entry[data-id='2'][data-phase='cancelled']").waitFor();
    const left = await streamed();
    if (left.includes("word 59")) throw new Error("the whole answer streamed: the cancel came too late");
    await screenshot("02b-cancel");
    emit({ event: "passed", step: stepName });

    // ---- server-error: an HTTP 500 puts a codex diagnostic in the Problems panel ----
    stepName = "server-error";
    await scenario(stepName);
    await selectLines(3, 7);
    await runCommand("Codex: Explain Selection");
    const failed = entry(3);
    await failed.locator(".entry-error-code", { hasText: "server-error" }).waitFor();
    await failed.locator("a.entry-diagnostic-link").click();
    const problems = page.locator(".markers-panel");
    await problems.waitFor({ state: "visible" });
    await problems.locator(".monaco-list-row", { hasText: "codex" }).first().waitFor();
    const problem = await problems.locator(".monaco-list-row", { hasText: "codex" }).first().innerText();
    if (!/server-error/.test(problem)) throw new Error(`the Problems panel shows ${JSON.stringify(problem)}`);
    await screenshot("03-server-error");
    emit({ event: "passed", step: stepName });

    // ---- rewrite: the structured answer replaces the selection in the editor ----
    stepName = "rewrite";
    await scenario(stepName);
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    await selectLines(3, 7);
    await runCommand("Codex: Rewrite Selection");
    const presets = page.locator(".quick-input-widget .monaco-list-row", { hasText: "Simplify" });
    await presets.first().waitFor();
    await page.locator(".quick-input-widget input").fill("Simplify");
    await page.locator(".quick-input-widget input").press("Enter");
    const rewritten = entry(4);
    await waitFor("the rewritten code in the editor", async () => {
        const text = await editorText();
        if (text.includes("values.iter().sum()") && !text.includes("let mut sum")) return true;
        const error = await rewritten.locator(".entry-error").allInnerTexts();
        if (error.length > 0) throw new Error(`the rewrite failed: ${error.join(" ")}`);
        return `the editor shows ${JSON.stringify(text)}`;
    });
    await answerPanel().locator("article.entry[data-id='4'][data-phase='completed']").waitFor();
    await screenshot("04-rewrite");
    emit({ event: "passed", step: stepName });

    // ---- command-step: a command the agent runs shows in the panel as a step line, in order
    // before the answer, and expands to its output ----
    stepName = "command-step";
    await scenario(stepName);
    await ask("Run the echo");
    await answerPanel().locator("article.entry[data-id='5'][data-phase='completed']").waitFor();
    const ran = entry(5).locator("details.step[data-type='command']");
    if ((await ran.count()) !== 1) throw new Error(`the entry shows ${await ran.count()} command steps, not 1`);
    const ranTitle = await ran.locator(".step-title").innerText();
    if (ranTitle !== "Ran `echo step-output-7301` (exit 0)") throw new Error(`the command step says ${JSON.stringify(ranTitle)}`);
    if ((await ran.getAttribute("data-status")) !== "completed") throw new Error("the command step is not completed");
    // Compact until asked: the output is hidden, and one click on the line shows it.
    const output = ran.locator(".step-output");
    if (await output.isVisible()) throw new Error("the command's output shows before the step is expanded");
    await ran.locator("summary").click();
    await waitFor("the command's output", async () => {
        if (!(await output.isVisible())) return "the output is hidden";
        const text = await output.innerText();
        return text.includes("step-output-7301") || `the output is ${JSON.stringify(text)}`;
    });
    const said = await entry(5).locator(".entry-answer").innerText();
    if (!said.includes("It printed.")) throw new Error(`the answer panel shows ${JSON.stringify(said)} after the command`);
    // The steps come before the answer, as they happened.
    const stepsFirst = await entry(5).evaluate((node) => {
        const steps = node.querySelector(".entry-steps");
        const answer = node.querySelector(".entry-answer");
        return !!steps && !!answer && (steps.compareDocumentPosition(answer) & steps.DOCUMENT_POSITION_FOLLOWING) !== 0;
    });
    if (!stepsFirst) throw new Error("the steps are not above the answer");
    await screenshot("05-command-step");
    emit({ event: "passed", step: stepName });

    // ---- approval: a command Codex wants to run outside the sandbox asks in a modal ----
    stepName = "approval";
    await scenario(stepName);
    // A setting changed while the server runs reaches it: the server pulls its section again.
    const userSettings = join(userData, "User", "settings.json");
    // editPreview is for the preview step (Ask runs make no edit).
    const changed = {
        ...JSON.parse(readFileSync(userSettings, "utf8")),
        "codexLs.approvalPolicy": "on-request",
        "codexLs.editPreview": true,
    };
    await runCommand("Preferences: Open User Settings (JSON)");
    // The editor of settings.json has the focus once it shows the file.
    const settingsEditor = page.locator(".monaco-editor.focused", { hasText: '"workbench.startupEditor"' });
    await settingsEditor.waitFor();
    await page.keyboard.press("Control+a");
    // One line: the editor would indent the lines of a multi-line text a second time.
    await page.keyboard.insertText(JSON.stringify(changed));
    await page.keyboard.press("Control+s");
    await waitFor("the server to pull approvalPolicy on-request", async () =>
        traceEntries().some(
            (entry) =>
                entry.includes("Sending response 'workspace/configuration") &&
                entry.includes('"approvalPolicy": "on-request"') &&
                entry.includes('"editPreview": true'),
        ) || undefined,
    );
    await screenshot("06-settings");
    // Escape closes the settings editor (a modal), once any suggestion list in it is closed.
    await waitFor("the settings editor to close", async () => {
        await page.keyboard.press("Escape");
        const closed = await settingsEditor
            .waitFor({ state: "detached", timeout: 2000 })
            .then(() => true)
            .catch(() => false);
        return closed || "it is still open";
    });
    await ask("Make the file");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible" });
    // Typed: the server asked with codex/requestApproval, not a message to recognize by its words.
    await waitFor("codex/requestApproval in the trace", async () => serverAsked("codex/requestApproval") || undefined);
    const dialogText = await dialog.innerText();
    for (const expected of ["Codex wants to run a command", "created-by-codex.txt", "Reason: The test wants a file"]) {
        if (!dialogText.includes(expected)) throw new Error(`the approval dialog says ${JSON.stringify(dialogText)}, not ${expected}`);
    }
    await screenshot("07-approval");
    await dialog.getByRole("button", { name: "Decline" }).click();
    await answerPanel().locator("article.entry[data-id='6'][data-phase='completed']").waitFor();
    const approved = await entry(6).locator(".entry-answer").innerText();
    if (!approved.includes("Done.")) throw new Error(`the answer panel shows ${JSON.stringify(approved)} after the approval`);
    emit({ event: "passed", step: stepName });

    // ---- file-change: Codex asks to add a file; "Review changes" shows the patch in the diff
    // editor before the user decides, and Accept lets the agent write it ----
    stepName = "file-change";
    await scenario(stepName);
    const added = join(workspace, "added.txt");
    await ask("Add the file");
    await dialog.waitFor({ state: "visible" });
    const changeText = await dialog.innerText();
    for (const expected of ["Codex wants to", "added.txt"]) {
        if (!changeText.includes(expected)) throw new Error(`the approval dialog says ${JSON.stringify(changeText)}, not ${expected}`);
    }
    await screenshot("08-file-change-approval");
    await dialog.getByRole("button", { name: "Review changes" }).click();
    const diffEditor = page.locator(".monaco-diff-editor");
    await waitFor("the patch in the diff editor", async () => {
        if (!(await diffEditor.first().isVisible())) return "no diff editor";
        const modified = (await diffEditor.first().locator(".editor.modified .view-lines[role='presentation']").innerText()).replace(/\u00a0/g, " ");
        return modified.includes("hello from the patch") || `its new side shows ${JSON.stringify(modified)}`;
    });
    await page.locator(".tab.active", { hasText: "added.txt (add)" }).waitFor();
    // The dialog asks again once the diff is open: nothing is decided by looking.
    await dialog.waitFor({ state: "visible" });
    if (existsSync(added)) throw new Error("added.txt exists before the change was accepted");
    await screenshot("09-file-change-diff");
    await dialog.getByRole("button", { name: "Accept", exact: true }).click();
    await answerPanel().locator("article.entry[data-id='7'][data-phase='completed']").waitFor();
    await waitFor("added.txt written by the agent", async () => {
        if (!existsSync(added)) return "no added.txt";
        const text = readFileSync(added, "utf8");
        return text === "hello from the patch\n" || `added.txt holds ${JSON.stringify(text)}`;
    });
    // The run's panel entry lists the change as a step with its diff at hand.
    const changeStep = entry(7).locator("details.step[data-type='fileChange']");
    await changeStep.waitFor();
    if ((await changeStep.getAttribute("data-status")) !== "completed") throw new Error("the file-change step is not completed");
    await changeStep.locator("summary").click();
    await changeStep.locator("button[data-action='openDiff']").waitFor();
    await screenshot("10-file-change-step");
    emit({ event: "passed", step: stepName });

    // ---- preview: with editPreview, a rewrite ends with its edit proposed: the diff editor
    // shows the selected text against the replacement, nothing is written until Accept (the
    // diff editor's title button), and the accepted edit is one undo step ----
    stepName = "preview";
    await scenario(stepName);
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    const before = await libText();
    await rewriteLine3();
    const previewed = entry(8);
    await proposalShown(previewed, "copied()");
    await screenshot("11-proposal");
    await expectUnchanged(before, "the proposal was applied before Accept");
    await page.locator(".editor-actions [aria-label^='Accept Proposed Edit']").first().click();
    await waitFor("the accepted edit in the editor", async () => {
        const text = await libText();
        return text.includes("values.iter().copied().sum()") || `the editor shows ${JSON.stringify(text)}`;
    });
    await previewed.locator(".entry-edit", { hasText: "Proposed edit accepted" }).waitFor();
    await page.locator(".tab", { hasText: "(proposed)" }).waitFor({ state: "detached" });
    await screenshot("12-proposal-accepted");
    // One undo step takes the whole edit back.
    await libEditor().click();
    await page.keyboard.press("Control+z");
    await waitFor("one undo to take the edit back", async () => {
        const text = await libText();
        return text === before || `after one undo the editor shows ${JSON.stringify(text)}`;
    });
    emit({ event: "passed", step: stepName });

    // ---- reject: Reject on a proposal drops it and leaves the text as it is ----
    stepName = "reject";
    await scenario(stepName);
    await page.locator(".tab", { hasText: "lib.rs" }).first().click();
    const unchanged = await libText();
    await rewriteLine3();
    const rejected = entry(9);
    await proposalShown(rejected, "fold(");
    await page.locator(".editor-actions [aria-label^='Reject Proposed Edit']").first().click();
    await rejected.locator(".entry-edit", { hasText: "Proposed edit rejected" }).waitFor();
    await page.locator(".tab", { hasText: "(proposed)" }).waitFor({ state: "detached" });
    await expectUnchanged(unchanged, "the rejected proposal changed the text");
    await screenshot("12b-proposal-rejected");
    emit({ event: "passed", step: stepName });

    // ---- panel: the entries survive the panel being hidden and shown, closed and reopened ----
    stepName = "panel";
    const panelTab = page.locator(".tab", { hasText: "Codex Answers" });
    await panelTab.click();
    // lib.rs opened from the Explorer into the panel's group hides the panel (its page is
    // dropped while hidden). The mouse, as the keyboard's focus is in the panel's page now.
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "lib.rs" }).click();
    await page.locator(".editor-group-container.active .tab.active", { hasText: "lib.rs" }).waitFor();
    await page.locator(".editor-group-container.active .tab", { hasText: "Codex Answers" }).waitFor();
    await panelTab.click();
    await answerPanel().locator("article.entry[data-id='9']").waitFor();
    await expectEntries(9);
    // A middle click on a tab closes it.
    await panelTab.click({ button: "middle" });
    await panelTab.waitFor({ state: "detached" });
    await runCommand("Codex: Show Answer Panel");
    await answerPanel().locator("article.entry[data-id='9']").waitFor();
    await expectEntries(9);
    await screenshot("13-panel");
    emit({ event: "passed", step: stepName });

    // ---- follow-up: the panel shows lib.rs's conversation, each question and the selection it
    // was about above its answer, and a question typed in its input continues the conversation
    // (tests/vscode.rs checks that the model's request carries the first exchange) ----
    stepName = "follow-up";
    await scenario(stepName);
    const firstQuestion = entry(1).locator(".entry-question");
    const excerpt = await firstQuestion.locator(".entry-excerpt").innerText();
    if (!excerpt.includes("pub fn total")) throw new Error(`the first question shows the selection as ${JSON.stringify(excerpt)}`);
    const questionFirst = await entry(1).evaluate((node) => {
        const question = node.querySelector(".entry-question");
        const answer = node.querySelector(".entry-answer");
        // 4 is Node.DOCUMENT_POSITION_FOLLOWING: the answer comes after the question.
        return Boolean(question && answer && question.compareDocumentPosition(answer) & 4);
    });
    if (!questionFirst) throw new Error("the question is not above the answer");
    const followUpInput = answerPanel().locator("#follow-up-input");
    await followUpInput.fill("And with fold? 5521");
    await followUpInput.press("Enter");
    const followedUp = entry(10);
    await answerPanel().locator("article.entry[data-id='10'][data-phase='completed']").waitFor();
    const followUpPrompt = await followedUp.locator(".entry-question .entry-prompt").innerText();
    if (followUpPrompt !== "And with fold? 5521") throw new Error(`the follow-up's question is ${JSON.stringify(followUpPrompt)}`);
    const followUpAnswer = await followedUp.locator(".entry-answer").innerText();
    if (!followUpAnswer.includes("Folded: 5521")) throw new Error(`the follow-up's answer is ${JSON.stringify(followUpAnswer)}`);
    if ((await followUpInput.inputValue()) !== "") throw new Error("the input kept the question it sent");
    await expectEntries(10);
    await screenshot("14-follow-up");
    emit({ event: "passed", step: stepName });

    // ---- reload: after the window reloads (a new extension host, nothing kept in memory) the
    // panel comes back with the conversation as Codex keeps it ----
    stepName = "reload";
    await page.reload();
    await page.locator(".monaco-workbench").waitFor();
    await page.locator(".part.statusbar [aria-label^='Codex: ready']").first().waitFor();
    const restored = answerPanel().locator("article.entry", { hasText: "And with fold? 5521" });
    await restored.locator(".entry-answer", { hasText: "Folded: 5521." }).waitFor();
    // Read from Codex: the entries are its turns now, not this window's runs.
    const restoredId = await restored.getAttribute("data-id");
    if (!restoredId?.startsWith("turn-")) throw new Error(`the restored entry is ${JSON.stringify(restoredId)}, not a turn read from Codex`);
    const explainedAgain = answerPanel().locator("article.entry .entry-answer", { hasText: "adds up the values" });
    await explainedAgain.first().waitFor();
    await screenshot("15-reload");
    emit({ event: "passed", step: stepName });

    emit({ event: "done" });
} catch (error) {
    await screenshot(`failed-${stepName}`).catch(() => undefined);
    log(`step ${stepName} failed: ${error instanceof Error ? error.stack : String(error)}`);
    printOutputChannels();
    process.exitCode = 1;
} finally {
    await browser.close().catch(() => undefined);
    await stopServer();
    process.exit();
}
