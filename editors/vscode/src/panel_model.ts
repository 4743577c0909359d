// What the answer panel's webview shows for each run, and the messages between the webview and
// the extension. Pure: the extension builds entries here, the webview only draws them.

import { renderAnswer } from "./markdown";
import { type RunRecord, describeLines, phaseLabel } from "./run_state";

export interface PanelEntry {
    id: number;
    title: string;
    prompt: string;
    /// "src/lib.rs, lines 3-5".
    scope: string;
    phase: RunRecord["phase"];
    statusLabel: string;
    active: boolean;
    /// The rendered answer (raw HTML in the answer is escaped).
    html: string;
    error?: { code: string; message: string };
    /// A link to the diagnostic the server published for the failure.
    hasDiagnostic: boolean;
    /// For edit runs: what became of the edit.
    edit?: { status: string; explanation: string; reason?: string };
    findings?: number;
}

/// Extension → webview.
export type ToWebview =
    | { type: "entries"; entries: PanelEntry[] }
    | { type: "entry"; entry: PanelEntry };

/// Webview → extension.
export type FromWebview =
    | { type: "ready" }
    | { type: "cancel"; id: number }
    | { type: "copy"; id: number; block: number }
    | { type: "insert"; id: number; block: number }
    | { type: "showDiagnostic"; id: number }
    | { type: "clear" };

export interface RenderedEntry {
    entry: PanelEntry;
    codeBlocks: string[];
}

const EDIT_LABELS: Record<string, string> = {
    applied: "Edit applied",
    rejected: "Edit rejected by the editor",
    notApplied: "Edit not applied",
};

export function panelEntry(record: RunRecord): RenderedEntry {
    const { html, codeBlocks } = renderAnswer(answerMarkdown(record));
    const entry: PanelEntry = {
        id: record.id,
        title: record.title,
        prompt: record.prompt,
        scope: `${record.origin.label}, ${record.scopeMessage ?? describeLines(record.origin.lines)}`,
        phase: record.phase,
        statusLabel: phaseLabel(record),
        active: record.active,
        html,
        hasDiagnostic: record.hasDiagnostic,
    };
    // A cancel the user asked for is an outcome, not an error: no error line (drawn in error red).
    if (record.error && record.phase !== "cancelled") {
        entry.error = { code: record.error.code, message: record.error.message };
    }
    if (record.edit) {
        entry.edit = {
            status: EDIT_LABELS[record.edit.status] ?? record.edit.status,
            explanation: record.edit.explanation,
        };
        if (record.edit.reason !== undefined) entry.edit.reason = record.edit.reason;
    }
    if (record.findings !== undefined) entry.findings = record.findings;
    return { entry, codeBlocks };
}

/// The markdown an entry shows. An edit run streams the model's structured answer (JSON), which
/// is not for reading: the entry shows the explanation and the replacement once the edit is done,
/// and the raw answer only when no edit came out of it.
export function answerMarkdown(record: RunRecord): string {
    if (!record.edits) return record.text;
    if (record.edit) {
        const fence = "`".repeat(Math.max(3, longestBacktickRun(record.edit.replacement) + 1));
        const explanation = record.edit.explanation.trim();
        const replacement = record.edit.replacement.endsWith("\n")
            ? record.edit.replacement
            : `${record.edit.replacement}\n`;
        return `${explanation}${explanation ? "\n\n" : ""}${fence}\n${replacement}${fence}\n`;
    }
    return record.active ? "" : record.text;
}

function longestBacktickRun(text: string): number {
    let longest = 0;
    for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
    return longest;
}

/// Reads a message from the webview; anything else gives `undefined`.
export function parseWebviewMessage(value: unknown): FromWebview | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const message = value as Record<string, unknown>;
    const id = message["id"];
    const block = message["block"];
    switch (message["type"]) {
        case "ready":
        case "clear":
            return { type: message["type"] };
        case "cancel":
        case "showDiagnostic":
            return typeof id === "number" ? { type: message["type"], id } : undefined;
        case "copy":
        case "insert":
            return typeof id === "number" && typeof block === "number"
                ? { type: message["type"], id, block }
                : undefined;
        default:
            return undefined;
    }
}
