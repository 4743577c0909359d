// The `codexLs.*` commands. Each run command takes the active editor's selection (or the whole
// file where the server allows it) and an optional argument object, so keybindings can skip
// the prompts: e.g. `{ "preset": "simplify" }` for Rewrite Selection.

import * as vscode from "vscode";
import type { Ctx } from "./ctx";
import { errorMessage } from "./ctx";
import * as ext from "./lsp_ext";
import { type RunRecord, describeLines, selectedLines } from "./run_state";
import { type UserAction, wantsInstruction } from "./server_config";

type Command = (...args: unknown[]) => unknown;

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
    const commands: Record<string, Command> = {
        "codexLs.ask": (arg) => ask(ctx, arg),
        "codexLs.explainSelection": () => runOnSelection(ctx, ext.EXPLAIN, "Explain"),
        "codexLs.rewriteSelection": (arg) => rewrite(ctx, arg),
        "codexLs.fix": () => fix(ctx),
        "codexLs.writeTests": (arg) => writeTests(ctx, arg),
        "codexLs.review": () => runOnSelection(ctx, ext.REVIEW, "Review"),
        "codexLs.clearReview": () => clearReview(ctx),
        "codexLs.runAction": (arg) => runAction(ctx, arg),
        "codexLs.cancel": () => cancel(ctx),
        "codexLs.newConversation": () => newConversation(ctx),
        "codexLs.acceptProposal": (arg) => ctx.decideProposal("accept", runIdOf(arg)),
        "codexLs.acceptProposalHunks": (arg) => ctx.decideProposal("acceptHunks", runIdOf(arg)),
        "codexLs.rejectProposal": (arg) => ctx.decideProposal("reject", runIdOf(arg)),
        "codexLs.showStatus": () => showStatus(ctx),
        "codexLs.showAnswers": () => ctx.showAnswers(),
        "codexLs.restartServer": () => ctx.restart(),
        "codexLs.showLogs": () => ctx.output.show(),
    };
    return Object.entries(commands).map(([name, command]) =>
        vscode.commands.registerCommand(name, async (...args: unknown[]) => {
            try {
                await command(...args);
            } catch (error) {
                void vscode.window.showErrorMessage(`Codex: ${errorMessage(error)}`);
            }
        }),
    );
}

function argument(value: unknown): Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : {};
}

function stringField(value: Record<string, unknown>, name: string): string | undefined {
    const field = value[name];
    return typeof field === "string" && field.trim() !== "" ? field : undefined;
}

function activeEditor(): vscode.TextEditor {
    const editor = vscode.window.activeTextEditor;
    if (!editor) throw new Error("open a file first.");
    return editor;
}

function selection(editor: vscode.TextEditor): vscode.Range | undefined {
    return editor.selection.isEmpty ? undefined : editor.selection;
}

/// The selection, or the cursor's whole line for commands that need a range.
function selectionOrLine(editor: vscode.TextEditor): vscode.Range {
    return selection(editor) ?? editor.document.lineAt(editor.selection.active.line).range;
}

function describeSelection(editor: vscode.TextEditor, range: vscode.Range | undefined): string {
    const name = vscode.workspace.asRelativePath(editor.document.uri, false);
    const lines = range && selectedLines(range.start, range.end);
    return lines ? `${name}, ${describeLines(lines)}` : name;
}

async function ask(ctx: Ctx, arg: unknown): Promise<void> {
    const editor = activeEditor();
    const range = selection(editor);
    const prompt =
        stringField(argument(arg), "prompt") ??
        (await vscode.window.showInputBox({
            title: "Codex: Ask",
            prompt: `Ask Codex about ${describeSelection(editor, range)}`,
            placeHolder: "What does this do? Why does it fail? …",
            ignoreFocusOut: true,
        }));
    if (!prompt?.trim()) return;
    const extra: Partial<ext.RunArgs> = { prompt };
    await ctx.startRun({ command: ext.RUN, title: "Ask", prompt, document: editor.document, range, extra });
}

/// A run with no arguments of its own, on the selection or the whole file.
async function runOnSelection(ctx: Ctx, command: typeof ext.EXPLAIN | typeof ext.REVIEW, title: string): Promise<void> {
    const editor = activeEditor();
    const review = command === ext.REVIEW;
    await ctx.startRun({ command, title, prompt: "", document: editor.document, range: selection(editor), review });
}

interface PresetItem extends vscode.QuickPickItem {
    preset?: ext.RewritePreset;
}

const REWRITE_PRESETS: PresetItem[] = [
    { label: "Improve", description: "clearer, more idiomatic, same behaviour", preset: "improve" },
    { label: "Simplify", description: "less code, same behaviour", preset: "simplify" },
    { label: "Document", description: "add documentation comments", preset: "document" },
    { label: "Custom instruction…", description: "say what to change" },
];

async function rewrite(ctx: Ctx, arg: unknown): Promise<void> {
    const editor = activeEditor();
    const range = selectionOrLine(editor);
    const given = argument(arg);
    let preset = parsePreset(given["preset"]);
    let instruction = stringField(given, "instruction");
    if (preset === undefined && instruction === undefined) {
        const picked = await vscode.window.showQuickPick(REWRITE_PRESETS, {
            title: "Codex: Rewrite Selection",
            placeHolder: "How should Codex rewrite the selection?",
        });
        if (!picked) return;
        preset = picked.preset;
        if (preset === undefined) {
            instruction = await vscode.window.showInputBox({
                title: "Codex: Rewrite Selection",
                prompt: "How should Codex rewrite the selection?",
                placeHolder: "Use iterators instead of the loop",
                ignoreFocusOut: true,
            });
            if (!instruction?.trim()) return;
        }
    }
    const extra: Partial<ext.RewriteArgs> = {};
    if (preset) extra.preset = preset;
    if (instruction) extra.instruction = instruction;
    const title = preset ? `Rewrite: ${preset}` : "Rewrite";
    await ctx.startRun({
        command: ext.REWRITE,
        title,
        prompt: instruction ?? "",
        document: editor.document,
        range,
        extra,
        edits: true,
    });
}

function parsePreset(value: unknown): ext.RewritePreset | undefined {
    return value === "improve" || value === "simplify" || value === "document" ? value : undefined;
}

async function fix(ctx: Ctx): Promise<void> {
    const editor = activeEditor();
    const client = ctx.client;
    // The problems under the selection or the cursor, except codex-ls's own run failures.
    const area = selection(editor) ?? new vscode.Range(editor.selection.active, editor.selection.active);
    const problems = vscode.languages
        .getDiagnostics(editor.document.uri)
        .filter((diagnostic) => diagnostic.source !== "codex" && diagnostic.range.intersection(area) !== undefined);
    const range =
        selection(editor) ??
        problems.reduce<vscode.Range | undefined>((union, d) => (union ? union.union(d.range) : d.range), undefined) ??
        selectionOrLine(editor);
    const wholeLines = new vscode.Range(range.start.line, 0, range.end.line, editor.document.lineAt(range.end.line).text.length);
    const extra: Partial<ext.FixArgs> = {};
    if (problems.length > 0 && client) extra.diagnostics = await client.code2ProtocolConverter.asDiagnostics(problems);
    // The entry names the problems being fixed.
    const prompt = problems.map((problem) => problem.message).join("\n");
    await ctx.startRun({ command: ext.FIX, title: "Fix", prompt, document: editor.document, range: wholeLines, extra, edits: true });
}

interface TestsItem extends vscode.QuickPickItem {
    mode: ext.TestsMode;
}

async function writeTests(ctx: Ctx, arg: unknown): Promise<void> {
    const editor = activeEditor();
    const range = selectionOrLine(editor);
    const given = argument(arg)["mode"];
    let mode: ext.TestsMode | undefined = given === "answer" || given === "edit" ? given : undefined;
    if (mode === undefined) {
        const items: TestsItem[] = [
            { label: "Show the tests", description: "in the answer panel", mode: "answer" },
            { label: "Insert the tests", description: "into this file", mode: "edit" },
        ];
        const picked = await vscode.window.showQuickPick(items, { title: "Codex: Write Tests" });
        if (!picked) return;
        mode = picked.mode;
    }
    const extra: Partial<ext.TestsArgs> = { mode };
    await ctx.startRun({
        command: ext.TESTS,
        title: "Write tests",
        prompt: "",
        document: editor.document,
        range,
        extra,
        edits: mode === "edit",
    });
}

async function clearReview(ctx: Ctx): Promise<void> {
    const editor = activeEditor();
    const argument: ext.ClearReviewArgs = { textDocument: { uri: editor.document.uri.toString() } };
    await ctx.executeCommand(ext.CLEAR_REVIEW, argument);
}

interface ActionItem extends vscode.QuickPickItem {
    action: UserAction;
}

async function runAction(ctx: Ctx, arg: unknown): Promise<void> {
    const editor = activeEditor();
    const actions = ctx.config.actions;
    const given = argument(arg);
    const wanted = stringField(given, "title");
    let action = wanted === undefined ? undefined : actions.find((candidate) => candidate.title === wanted);
    if (wanted !== undefined && action === undefined) {
        throw new Error(`no action "${wanted}" in the \`codexLs.actions\` setting.`);
    }
    if (action === undefined) {
        if (actions.length === 0) {
            const choice = await vscode.window.showInformationMessage(
                "Codex: no actions are defined. Add some to the `codexLs.actions` setting.",
                "Open settings",
            );
            if (choice) await vscode.commands.executeCommand("workbench.action.openSettings", "codexLs.actions");
            return;
        }
        const items: ActionItem[] = actions.map((candidate) => ({
            label: candidate.title,
            description: candidate.mode,
            detail: candidate.prompt,
            action: candidate,
        }));
        const picked = await vscode.window.showQuickPick(items, { title: "Codex: Run Action" });
        if (!picked) return;
        action = picked.action;
    }
    if (action.mode === "edit" && editor.selection.isEmpty) throw new Error(`"${action.title}" edits the selection: select some code first.`);
    const extra: Partial<ext.ActionArgs> = { title: action.title };
    let instruction = stringField(given, "instruction");
    if (instruction === undefined && wantsInstruction(action)) {
        instruction = await vscode.window.showInputBox({
            title: `Codex: ${action.title}`,
            prompt: "Instruction",
            ignoreFocusOut: true,
        });
        if (instruction === undefined) return;
    }
    if (instruction !== undefined) extra.instruction = instruction;
    const range = selection(editor);
    await ctx.startRun({
        command: ext.ACTION,
        title: action.title,
        prompt: instruction ?? "",
        document: editor.document,
        range,
        extra,
        edits: action.mode === "edit",
        review: action.mode === "review",
    });
}

interface RunItem extends vscode.QuickPickItem {
    runs: RunRecord[];
}

async function cancel(ctx: Ctx): Promise<void> {
    const active = ctx.activeRuns();
    if (active.length === 0) {
        void vscode.window.showInformationMessage("Codex: no run is in progress.");
        return;
    }
    if (active.length === 1) {
        await ctx.cancel(active);
        return;
    }
    const items: RunItem[] = [
        { label: `All ${active.length} runs`, runs: active },
        ...active.map((run) => ({ label: run.title, description: run.prompt, runs: [run] })),
    ];
    const picked = await vscode.window.showQuickPick(items, { title: "Codex: Cancel" });
    if (picked) await ctx.cancel(picked.runs);
}

/// The proposal commands take `{ runId }` (the extension's own run id) from a keybinding;
/// without it they decide the proposal of the active diff editor.
function runIdOf(arg: unknown): number | undefined {
    const runId = argument(arg)["runId"];
    return typeof runId === "number" ? runId : undefined;
}

async function newConversation(ctx: Ctx): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
        await ctx.conversations.newConversation(editor.document.uri);
    } else {
        const argument: ext.NewThreadArgs = { scope: "workspace" };
        await ctx.executeCommand(ext.NEW_THREAD, argument);
    }
    const where = editor ? vscode.workspace.asRelativePath(editor.document.uri, false) : "this workspace";
    void vscode.window.showInformationMessage(`Codex: the next run on ${where} starts a new conversation.`);
}

async function showStatus(ctx: Ctx): Promise<void> {
    const status = await ctx.status().catch(() => undefined);
    const lines: string[] = [];
    const server = ctx.serverInfo;
    if (server) lines.push(`codex-ls ${server.version} (${server.source}: ${server.path})`);
    if (ctx.clientProblem) lines.push(ctx.clientProblem);
    if (status) {
        const backend = status.backend;
        lines.push(
            `Codex app-server: ${backend.state}` +
                (backend.codexVersion ? `, ${backend.codexVersion}` : "") +
                (backend.pid ? `, pid ${backend.pid}` : ""),
        );
        lines.push(`Codex CLI: ${backend.codexPath}`);
        if (backend.lastError) lines.push(`Last error: ${backend.lastError}`);
        lines.push(`Active runs: ${status.activeRuns.length}`);
        for (const run of status.activeRuns) lines.push(`  #${run.runId} ${run.title} ${run.uri}`);
        if (status.threads) lines.push(`Conversations: ${status.threads.length}`);
    }
    const choice = await vscode.window.showInformationMessage(
        status ? `Codex: ${status.backend.state}` : "Codex: codex-ls is not running",
        { modal: true, detail: lines.join("\n") },
        "Show logs",
        "Restart server",
    );
    if (choice === "Show logs") ctx.output.show();
    else if (choice === "Restart server") await ctx.restart();
}
