// What the answer panel's webview shows for each run, and the messages between the webview and
// the extension. Pure: the extension builds entries here, the webview only draws them.

import type { FileChangeKind, ItemStatus, ItemType, PlanStepStatus } from "./lsp_ext";
import { renderAnswer } from "./markdown";
import { type RunRecord, describeLines, phaseLabel } from "./run_state";
import type { Step } from "./steps";

/// One step of a run as the panel draws it: a line that expands to its details.
export interface PanelStep {
    id: string;
    type: ItemType;
    status: ItemStatus;
    title: string;
    /// Reasoning summary, a retry's or a notice's details.
    text: string;
    /// "$ cargo test" and its directory.
    command?: string;
    cwd?: string;
    exitCode?: number;
    output: string;
    outputTruncated: boolean;
    changes?: { path: string; kind: FileChangeKind }[];
    plan?: { step: string; status: PlanStepStatus }[];
}

/// A review finding, listed under the review's entry; a click reveals its lines.
export interface PanelFinding {
    /// "line 3" or "lines 3-5".
    lines: string;
    severity: string;
    message: string;
    suggestion?: string;
}

export interface PanelEntry {
    id: number;
    title: string;
    prompt: string;
    /// "src/lib.rs, lines 3-5".
    scope: string;
    phase: RunRecord["phase"];
    statusLabel: string;
    active: boolean;
    /// The rendered answer's top-level blocks (raw HTML in the answer is escaped).
    blocks: string[];
    /// What the agent does now, while the run goes.
    currentStep?: string;
    steps: PanelStep[];
    /// A review's findings, once it is done.
    findingList?: PanelFinding[];
    /// "1,234 tokens", once the run is done.
    usage?: string;
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
    | { type: "openDiff"; id: number; step: string; change: number }
    | { type: "revealFinding"; id: number; finding: number }
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
    const { blocks, codeBlocks } = renderAnswer(answerMarkdown(record));
    const entry: PanelEntry = {
        id: record.id,
        title: record.title,
        prompt: record.prompt,
        scope: `${record.origin.label}, ${record.scopeMessage ?? describeLines(record.origin.lines)}`,
        phase: record.phase,
        statusLabel: phaseLabel(record),
        active: record.active,
        blocks,
        steps: record.steps.list.map(panelStep),
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
    if (record.currentStep !== undefined && record.active) entry.currentStep = record.currentStep;
    const findings = record.review && !record.active ? reviewFindings(record.text) : undefined;
    if (findings !== undefined) entry.findingList = findings.map(panelFinding);
    if (record.usage !== undefined) entry.usage = `${record.usage.totalTokens.toLocaleString("en-US")} tokens`;
    return { entry, codeBlocks };
}

function panelStep(step: Step): PanelStep {
    const shown: PanelStep = {
        id: step.id,
        type: step.type,
        status: step.status,
        title: step.title,
        text: step.text,
        output: step.output,
        outputTruncated: step.outputTruncated,
    };
    if (step.command !== undefined) shown.command = step.command;
    if (step.cwd !== undefined) shown.cwd = step.cwd;
    if (step.exitCode !== undefined) shown.exitCode = step.exitCode;
    // The diffs stay in the extension: "Open diff" asks for them by index.
    if (step.changes !== undefined) shown.changes = step.changes.map(({ path, kind }) => ({ path, kind }));
    if (step.plan !== undefined) shown.plan = step.plan;
    return shown;
}

/// A review's finding as the model wrote it (README "Reviews"), lines 1-based.
export interface ReviewFinding {
    startLine: number;
    endLine: number;
    severity: string;
    message: string;
    suggestion?: string;
}

/// The findings of a review's answer, or `undefined` when it is not the review's JSON (then the
/// entry shows the answer as it is).
export function reviewFindings(text: string): ReviewFinding[] | undefined {
    let answer: unknown;
    try {
        answer = JSON.parse(text);
    } catch {
        return undefined;
    }
    const list = (answer as { findings?: unknown } | null)?.findings;
    if (!Array.isArray(list)) return undefined;
    const findings: ReviewFinding[] = [];
    for (const raw of list) {
        const finding = raw as Record<string, unknown> | null;
        const startLine = finding?.["startLine"];
        const message = finding?.["message"];
        if (typeof startLine !== "number" || typeof message !== "string") continue;
        const endLine = typeof finding?.["endLine"] === "number" ? finding["endLine"] : startLine;
        const severity = typeof finding?.["severity"] === "string" ? finding["severity"] : "warning";
        const parsed: ReviewFinding = { startLine, endLine: Math.max(startLine, endLine), severity, message };
        if (typeof finding?.["suggestion"] === "string") parsed.suggestion = finding["suggestion"];
        findings.push(parsed);
    }
    return findings;
}

function panelFinding(finding: ReviewFinding): PanelFinding {
    const lines = describeLines({ start: finding.startLine - 1, end: finding.endLine - 1 });
    const shown: PanelFinding = { lines, severity: finding.severity, message: finding.message };
    if (finding.suggestion !== undefined) shown.suggestion = finding.suggestion;
    return shown;
}

/// The markdown an entry shows. An edit run streams the model's structured answer (JSON), which
/// is not for reading: the entry shows the explanation and the replacement once the edit is done,
/// and the raw answer only when no edit came out of it.
///
/// A review streams its findings as JSON too: once done, they are a list (see `reviewFindings`)
/// and the answer shows nothing else, unless the answer is not the review's JSON.
export function answerMarkdown(record: RunRecord): string {
    if (record.review) {
        if (record.active) return "";
        return reviewFindings(record.text) === undefined ? record.text : "";
    }
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
    const step = message["step"];
    const change = message["change"];
    const finding = message["finding"];
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
        case "openDiff":
            return typeof id === "number" && typeof step === "string" && typeof change === "number"
                ? { type: "openDiff", id, step, change }
                : undefined;
        case "revealFinding":
            return typeof id === "number" && typeof finding === "number" ? { type: "revealFinding", id, finding } : undefined;
        default:
            return undefined;
    }
}
