// codex-ls's custom protocol, mirrored by name from the server's `src/lsp/ext.rs` and the
// "Protocol" section of the project README: command names, their argument objects and
// answers, and the `codex` objects inside `$/progress` payloads.
//
// Only types and pure parsing live here, so the unit tests load this file without VS Code.

import type * as lc from "vscode-languageclient";

export const RUN = "codex.run";
export const EXPLAIN = "codex.explain";
export const REWRITE = "codex.rewrite";
export const FIX = "codex.fix";
export const TESTS = "codex.tests";
export const REVIEW = "codex.review";
export const CLEAR_REVIEW = "codex.clearReview";
export const ACTION = "codex.action";
export const NEW_THREAD = "codex.newThread";
export const CANCEL = "codex.cancel";
export const STATUS = "codex.status";
/// The actions of `unauthorized` and `backend-unavailable` failure diagnostics.
export const SIGN_IN_HELP = "codex.signInHelp";
export const OPEN_SETTINGS = "codex.openSettings";

/// The commands that start a run and answer `RunStarted`.
export const RUN_COMMANDS: readonly string[] = [RUN, EXPLAIN, REWRITE, FIX, TESTS, REVIEW, ACTION];

export function isRunCommand(command: string): command is RunCommand {
    return RUN_COMMANDS.includes(command);
}

export type RunCommand =
    | typeof RUN
    | typeof EXPLAIN
    | typeof REWRITE
    | typeof FIX
    | typeof TESTS
    | typeof REVIEW
    | typeof ACTION;

export interface TextDocumentRef {
    uri: string;
    /// When given, the run fails with `document-changed` if the server's version differs.
    version?: number;
}

export type Scope = "document" | "workspace";

export interface RunArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    prompt: string;
    newThread?: boolean;
    model?: string;
    effort?: string;
    scope?: Scope;
    progressToken?: string;
}

export interface ExplainArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    newThread?: boolean;
    scope?: Scope;
    progressToken?: string;
}

export type RewritePreset = "improve" | "simplify" | "document";

export interface RewriteArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    preset?: RewritePreset;
    instruction?: string;
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
}

export interface FixArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    diagnostics?: lc.Diagnostic[];
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
}

export type TestsMode = "answer" | "edit";

export interface TestsArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    mode?: TestsMode;
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
}

export interface ReviewArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    scope?: Scope;
    progressToken?: string;
}

export interface ClearReviewArgs {
    textDocument: { uri: string };
}

export interface ActionArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    title: string;
    instruction?: string;
    diagnostics?: lc.Diagnostic[];
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
}

export interface NewThreadArgs {
    textDocument?: { uri: string };
    scope?: Scope;
}

/// Exactly one of the fields.
export interface CancelArgs {
    runId?: number;
    token?: string;
    textDocument?: { uri: string };
}

/// Answer of every run command, sent at once.
export interface RunStarted {
    runId: number;
    token: string | number;
}

export interface Cancelled {
    cancelled: number[];
}

export interface ReviewCleared {
    cleared: number;
}

export interface ThreadReset {
    threadReset: true;
}

/// `notStarted`, `starting`, `ready`, `exited` or `unavailable`.
export type BackendState = "notStarted" | "starting" | "ready" | "exited" | "unavailable";

export interface BackendStatus {
    state: BackendState;
    codexVersion: string | null;
    codexPath: string;
    pid: number | null;
    lastError: string | null;
}

export interface ActiveRun {
    runId: number;
    title: string;
    uri: string;
}

export interface ThreadStatus {
    threadId: string;
    scope: Scope;
    uri?: string;
    /// The workspace folder of a workspace-scoped thread.
    folder?: string;
    turns: number;
}

/// Answer of `codex.status`.
export interface Status {
    serverVersion: string;
    backend: BackendStatus;
    activeRuns: ActiveRun[];
    threads?: ThreadStatus[];
}

/// `completed`, `failed`, `interrupted` or `timeout`.
export type EndStatus = "completed" | "failed" | "interrupted" | "timeout";

export interface ErrorExt {
    code: string;
    message: string;
}

/// What became of an edit run's replacement.
export interface EditReport {
    status: "applied" | "rejected" | "notApplied";
    replacement: string;
    explanation: string;
    /// Where the replacement went (or would have gone).
    range?: lc.Range;
    reason?: string;
}

export interface BeginExt {
    runId: number;
}

export interface ReportExt {
    runId: number;
    threadId: string | null;
    turnId: string | null;
    delta: string;
    seq: number;
    reset?: boolean;
}

export interface EndExt {
    runId: number;
    status: EndStatus;
    assistantText?: string;
    error?: ErrorExt;
    answerFile?: string;
    edit?: EditReport;
    findings?: number;
}

export type CodexProgress =
    | { kind: "begin"; title: string; message?: string; codex: BeginExt }
    | { kind: "report"; message?: string; codex: ReportExt }
    | { kind: "end"; message?: string; codex: EndExt };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

function nullableString(value: unknown): string | null {
    return typeof value === "string" ? value : null;
}

function isPosition(value: unknown): value is lc.Position {
    return isObject(value) && isCount(value["line"]) && isCount(value["character"]);
}

export function isRange(value: unknown): value is lc.Range {
    return isObject(value) && isPosition(value["start"]) && isPosition(value["end"]);
}

function isCount(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

const END_STATUSES: readonly string[] = ["completed", "failed", "interrupted", "timeout"];
const EDIT_STATUSES: readonly string[] = ["applied", "rejected", "notApplied"];

function parseError(value: unknown): ErrorExt | undefined {
    if (!isObject(value) || typeof value["code"] !== "string") return undefined;
    return { code: value["code"], message: optionalString(value["message"]) ?? "" };
}

function parseEdit(value: unknown): EditReport | undefined {
    if (!isObject(value)) return undefined;
    const status = value["status"];
    if (typeof status !== "string" || !EDIT_STATUSES.includes(status)) return undefined;
    const edit: EditReport = {
        status: status as EditReport["status"],
        replacement: optionalString(value["replacement"]) ?? "",
        explanation: optionalString(value["explanation"]) ?? "",
    };
    if (isRange(value["range"])) edit.range = value["range"];
    const reason = optionalString(value["reason"]);
    if (reason !== undefined) edit.reason = reason;
    return edit;
}

/// Reads one `$/progress` value of a codex-ls run. Anything that is not one of our payloads
/// (another server's progress, a malformed object) gives `undefined`, so a caller can ignore it.
export function parseProgress(value: unknown): CodexProgress | undefined {
    if (!isObject(value) || !isObject(value["codex"])) return undefined;
    const codex = value["codex"];
    if (!isCount(codex["runId"])) return undefined;
    const runId = codex["runId"];
    const message = optionalString(value["message"]);
    switch (value["kind"]) {
        case "begin":
            return { kind: "begin", title: optionalString(value["title"]) ?? "Codex", message, codex: { runId } };
        case "report": {
            if (typeof codex["delta"] !== "string" || !isCount(codex["seq"])) return undefined;
            return {
                kind: "report",
                message,
                codex: {
                    runId,
                    threadId: nullableString(codex["threadId"]),
                    turnId: nullableString(codex["turnId"]),
                    delta: codex["delta"],
                    seq: codex["seq"],
                    reset: codex["reset"] === true,
                },
            };
        }
        case "end": {
            const status = codex["status"];
            if (typeof status !== "string" || !END_STATUSES.includes(status)) return undefined;
            const end: EndExt = { runId, status: status as EndStatus };
            const assistantText = optionalString(codex["assistantText"]);
            if (assistantText !== undefined) end.assistantText = assistantText;
            const error = parseError(codex["error"]);
            if (error !== undefined) end.error = error;
            const answerFile = optionalString(codex["answerFile"]);
            if (answerFile !== undefined) end.answerFile = answerFile;
            const edit = parseEdit(codex["edit"]);
            if (edit !== undefined) end.edit = edit;
            if (isCount(codex["findings"])) end.findings = codex["findings"];
            return { kind: "end", message, codex: end };
        }
        default:
            return undefined;
    }
}

/// Reads the answer of a run command.
export function parseRunStarted(value: unknown): RunStarted | undefined {
    if (!isObject(value) || !isCount(value["runId"])) return undefined;
    const token = value["token"];
    if (typeof token !== "string" && typeof token !== "number") return undefined;
    return { runId: value["runId"], token };
}

const BACKEND_STATES: readonly string[] = ["notStarted", "starting", "ready", "exited", "unavailable"];

/// Reads the answer of `codex.status`.
export function parseStatus(value: unknown): Status | undefined {
    if (!isObject(value) || !isObject(value["backend"])) return undefined;
    const backend = value["backend"];
    const state = backend["state"];
    if (typeof state !== "string" || !BACKEND_STATES.includes(state)) return undefined;
    const activeRuns: ActiveRun[] = [];
    for (const run of Array.isArray(value["activeRuns"]) ? value["activeRuns"] : []) {
        if (isObject(run) && isCount(run["runId"])) {
            activeRuns.push({
                runId: run["runId"],
                title: optionalString(run["title"]) ?? "",
                uri: optionalString(run["uri"]) ?? "",
            });
        }
    }
    const status: Status = {
        serverVersion: optionalString(value["serverVersion"]) ?? "",
        backend: {
            state: state as BackendState,
            codexVersion: nullableString(backend["codexVersion"]),
            codexPath: optionalString(backend["codexPath"]) ?? "",
            pid: isCount(backend["pid"]) ? backend["pid"] : null,
            lastError: nullableString(backend["lastError"]),
        },
        activeRuns,
    };
    if (Array.isArray(value["threads"])) {
        status.threads = [];
        for (const thread of value["threads"]) {
            if (!isObject(thread) || typeof thread["threadId"] !== "string") continue;
            const entry: ThreadStatus = {
                threadId: thread["threadId"],
                scope: thread["scope"] === "workspace" ? "workspace" : "document",
                turns: isCount(thread["turns"]) ? thread["turns"] : 0,
            };
            const uri = optionalString(thread["uri"]);
            if (uri !== undefined) entry.uri = uri;
            const folder = optionalString(thread["folder"]);
            if (folder !== undefined) entry.folder = folder;
            status.threads.push(entry);
        }
    }
    return status;
}

/// An approval that the server asks for with `window/showMessageRequest`.
export interface ApprovalRequest {
    kind: "command" | "fileChange";
    /// The first line, e.g. "Codex wants to run a command".
    headline: string;
    /// The remaining lines: the command and cwd (or the files), and `Reason: ...`.
    detail: string;
    reason?: string;
}

const APPROVAL_PREFIXES: ReadonlyArray<[string, ApprovalRequest["kind"]]> = [
    ["Codex wants to run a command", "command"],
    ["Codex wants to change files", "fileChange"],
];

/// Recognises the server's approval requests among other `window/showMessageRequest`s.
export function parseApprovalRequest(message: string): ApprovalRequest | undefined {
    const kind = APPROVAL_PREFIXES.find(([prefix]) => message.startsWith(prefix))?.[1];
    if (kind === undefined) return undefined;
    const newline = message.indexOf("\n");
    const headline = (newline < 0 ? message : message.slice(0, newline)).trim();
    const detail = newline < 0 ? "" : message.slice(newline + 1).trim();
    const request: ApprovalRequest = { kind, headline, detail };
    const reason = detail
        .split("\n")
        .map((line) => line.trim())
        .find((line) => line.startsWith("Reason:"));
    if (reason !== undefined) request.reason = reason.slice("Reason:".length).trim();
    return request;
}
