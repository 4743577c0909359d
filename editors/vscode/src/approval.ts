// What the approval dialog of a `codex/requestApproval` says and offers. Pure, so the wording
// and the fail-closed rules are unit-tested; client.ts shows it.

import type { ApprovalDecision, ApprovalRequest } from "./lsp_ext";

export const DECISION_LABELS: Record<ApprovalDecision, string> = {
    accept: "Accept",
    acceptForSession: "Accept for session",
    decline: "Decline",
};

/// The extra button of a file change: it opens the diffs, then the dialog asks again.
export const REVIEW_CHANGES = "Review changes";

export interface ApprovalDialog {
    message: string;
    detail: string;
    /// The buttons, in order: the decisions the server allows, and "Review changes" first for
    /// a file change.
    buttons: string[];
}

export function approvalDialog(request: ApprovalRequest): ApprovalDialog {
    const lines: string[] = [];
    if (request.command !== undefined) lines.push(`$ ${request.command}`);
    if (request.cwd !== undefined) lines.push(`in ${request.cwd}`);
    for (const change of request.changes ?? []) lines.push(`${change.kind} ${change.path}`);
    if (request.permissions !== undefined) lines.push(request.permissions);
    if (request.reason !== undefined) lines.push("", `Reason: ${request.reason}`);
    const buttons = request.decisions.map((decision) => DECISION_LABELS[decision]);
    if ((request.changes ?? []).length > 0) buttons.unshift(REVIEW_CHANGES);
    return { message: request.title, detail: lines.join("\n").trim(), buttons };
}

/// The decision a clicked button stands for. Anything else (the dialog closed, a button that
/// is no decision) declines: the agent never goes ahead without a yes.
export function decisionOf(request: ApprovalRequest, picked: string | undefined): ApprovalDecision {
    const decision = request.decisions.find((candidate) => DECISION_LABELS[candidate] === picked);
    return decision ?? "decline";
}
