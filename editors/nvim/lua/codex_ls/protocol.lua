--- The codex-ls protocol as the plugin reads it: the types of the `codex`
--- payloads of `$/progress` and of the `codex/requestApproval` request
--- (README "Streaming" and "Approvals", mirrored from the server's
--- `src/lsp/ext.rs` and VS Code's `lsp_ext.ts`), and the pure folding of
--- step updates into step state. Nothing here touches the editor.
---
--- The `---@class` blocks below list every field of the contract; a test
--- compares them with the server's and VS Code's, so keep one field per line.
local M = {}

---@alias codex_ls.ItemType 'reasoning'|'plan'|'command'|'fileChange'|'webSearch'|'toolCall'|'retry'|'notice'
---@alias codex_ls.ItemStatus 'inProgress'|'completed'|'failed'|'declined'
---@alias codex_ls.ChangeKind 'add'|'delete'|'update'
---@alias codex_ls.PlanStepStatus 'pending'|'inProgress'|'completed'
---@alias codex_ls.ApprovalKind 'command'|'fileChange'|'permissions'
---@alias codex_ls.ApprovalDecision 'accept'|'acceptForSession'|'decline'
---@alias codex_ls.RunKind 'answer'|'edit'|'review'

--- `codex` object of a `begin` value.
---@class codex_ls.BeginExt
---@field runId integer
---@field kind? codex_ls.RunKind what the run makes (absent from older servers)

---@class codex_ls.FileChange
---@field path string
---@field kind codex_ls.ChangeKind
---@field diff string a unified diff of the file

---@class codex_ls.PlanStep
---@field step string
---@field status codex_ls.PlanStepStatus

--- One step's changes since the previous report (`report` values).
---@class codex_ls.ItemUpdate
---@field id string
---@field type codex_ls.ItemType
---@field status codex_ls.ItemStatus
---@field title string
---@field text? string appends
---@field command? string
---@field cwd? string
---@field exitCode? integer
---@field outputDelta? string appends
---@field outputSkipped? integer bytes dropped before this delta
---@field changes? codex_ls.FileChange[]
---@field plan? codex_ls.PlanStep[]

--- A step's final state (`end` values).
---@class codex_ls.Item
---@field id string
---@field type codex_ls.ItemType
---@field status codex_ls.ItemStatus
---@field title string
---@field text? string whole
---@field command? string
---@field cwd? string
---@field exitCode? integer
---@field output? string the last 64 KiB of the output
---@field changes? codex_ls.FileChange[]
---@field plan? codex_ls.PlanStep[]

--- Tokens of the turn (`end` values).
---@class codex_ls.Usage
---@field inputTokens integer
---@field cachedInputTokens integer
---@field outputTokens integer
---@field reasoningOutputTokens integer
---@field totalTokens integer

--- `codex/requestApproval` params, for clients that declare
--- `capabilities.experimental.codex.approvals`.
---@class codex_ls.ApprovalRequest
---@field runId integer
---@field kind codex_ls.ApprovalKind
---@field title string
---@field command? string
---@field cwd? string
---@field reason? string
---@field changes? codex_ls.FileChange[]
---@field permissions? string
---@field decisions codex_ls.ApprovalDecision[]

--- `codex/requestApproval`'s answer.
---@class codex_ls.ApprovalResponse
---@field decision codex_ls.ApprovalDecision

---@alias codex_ls.TurnStatus 'completed'|'failed'|'interrupted'|'inProgress'
---@alias codex_ls.Scope 'document'|'workspace'
---@alias codex_ls.EditStatus 'applied'|'rejected'|'notApplied'|'proposed'

--- `codex.conversation`'s argument: the conversation of a document (or
--- the workspace), or of a given thread.
---@class codex_ls.ConversationParams
---@field textDocument? { uri: string }
---@field scope? codex_ls.Scope
---@field threadId? string

--- One exchange of a conversation, as Codex keeps it (`thread/read`).
---@class codex_ls.ConversationTurn
---@field turnId string
---@field prompt string the user's question
---@field title string
---@field status codex_ls.TurnStatus
---@field answer string the turn's final answer
---@field items codex_ls.Item[] the turn's steps, as in `end.codex.items`
---@field startedAt? integer unix seconds

--- `codex.conversation`'s answer (null when nothing is bound yet).
---@class codex_ls.Conversation
---@field threadId string
---@field title string
---@field turns codex_ls.ConversationTurn[]

--- `codex.conversations`'s argument.
---@class codex_ls.ConversationsParams
---@field folder? string

--- An earlier conversation of the workspace (`thread/list`).
---@class codex_ls.ConversationSummary
---@field threadId string
---@field title string
---@field updatedAt integer unix seconds
---@field turns integer how many exchanges

--- `codex.conversations`'s answer, newest first.
---@class codex_ls.ConversationList
---@field conversations codex_ls.ConversationSummary[]

--- `codex.openConversation`'s argument: binds the document (or workspace)
--- to an earlier thread; its next run continues it.
---@class codex_ls.OpenConversationParams
---@field threadId string
---@field textDocument? { uri: string }
---@field scope? codex_ls.Scope

--- `codex.openConversation`'s answer.
---@class codex_ls.ConversationOpened
---@field threadId string

--- The `data` of the `InvalidRequest` refusing a run on a busy conversation.
---@class codex_ls.BusyData
---@field busy boolean
---@field runIds integer[] the runs going on the document

--- `codex.steer`'s argument: input added to the running turn.
---@class codex_ls.SteerParams
---@field runId integer
---@field prompt string

--- `codex.steer`'s answer.
---@class codex_ls.Steered
---@field runId integer
---@field turnId string the running turn the input went to

--- `codex.fork`'s argument.
---@class codex_ls.ForkParams
---@field threadId string
---@field turnId? string

--- `codex.fork`'s answer: the new thread.
---@class codex_ls.Forked
---@field threadId string
---@field forkedFromId string

--- `codex.undoLast`'s argument.
---@class codex_ls.UndoLastParams
---@field threadId string

--- `codex.undoLast`'s answer: the turn dropped.
---@class codex_ls.Undone
---@field threadId string
---@field turnId string

--- One line hunk of a proposal: the selected text's lines vs the
--- replacement's, with their document range.
---@class codex_ls.ProposalHunk
---@field index integer
---@field range lsp.Range
---@field oldText string
---@field newText string

--- `end.codex.edit` of an edit run (`status: "proposed"` when it waits to
--- be reviewed: nothing is applied yet).
---@class codex_ls.Edit
---@field status codex_ls.EditStatus
---@field replacement string
---@field explanation string
---@field range? lsp.Range where the selection is now
---@field reason? string
---@field version? integer the document version of a proposal
---@field hunks? codex_ls.ProposalHunk[]

--- `codex.applyProposal`'s argument: all hunks, or only those listed.
---@class codex_ls.ApplyProposalParams
---@field runId integer
---@field hunks? integer[]

--- `codex.applyProposal`'s answer.
---@class codex_ls.ApplyProposalResult
---@field applied boolean
---@field hunks integer[] the hunks applied (or meant to be)
---@field range? lsp.Range where the edit landed, when applied
---@field reason? string why the editor did not apply it

--- `codex.discardProposal`'s argument.
---@class codex_ls.DiscardProposalParams
---@field runId integer

--- `codex.discardProposal`'s answer.
---@class codex_ls.DiscardProposalResult
---@field discarded boolean

--- The plugin's state of one step: an `Item` whose `output` grows by the
--- deltas, with a note of the bytes the server dropped.
---@class codex_ls.Step: codex_ls.Item
---@field skipped integer output bytes the server dropped (head of long output)

--- Whether an error answer is the server refusing a run (or a
--- conversation command) because its conversation is busy: `InvalidRequest`
--- with `data: { busy: true, runIds }` (README "How a run works").
---@param err any
---@return boolean
function M.busy(err)
  return type(err) == 'table' and err.code == M.invalid_request and type(err.data) == 'table' and err.data.busy == true
end

--- JSON-RPC's `InvalidRequest`.
M.invalid_request = -32600

--- The request method of typed approvals.
M.request_approval = 'codex/requestApproval'

--- The run kinds a `begin` can name.
local run_kinds = { answer = true, edit = true, review = true }

--- What a run makes, from its `begin` value's `codex` object: `answer`,
--- `edit` or `review`; nil when the server does not say (servers before
--- `begin.codex.kind`) or says something this plugin does not know.
---@param begin_ext any
---@return codex_ls.RunKind?
function M.run_kind(begin_ext)
  local kind = type(begin_ext) == 'table' and begin_ext.kind or nil
  if run_kinds[kind] then
    return kind
  end
  return nil
end

--- A file change's diff as the lines of a unified diff. The server sends a
--- unified diff for `update` but the bare content for `add` and `delete`
--- (README "Steps"): as `+` (or `-`) lines under a hunk header it reads,
--- counts and highlights as what is added (or removed).
---@param change codex_ls.FileChange
---@return string[]
function M.diff_lines(change)
  local lines = vim.split(type(change.diff) == 'string' and change.diff or '', '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  local mark = ({ add = '+', delete = '-' })[change.kind]
  if not mark then
    return lines
  end
  local hunk = mark == '+' and ('@@ -0,0 +1,%d @@'):format(#lines) or ('@@ -1,%d +0,0 @@'):format(#lines)
  local unified = { hunk }
  for _, line in ipairs(lines) do
    unified[#unified + 1] = mark .. line
  end
  return unified
end

--- Scalar fields of an update that replace what came before.
local replaced = { 'type', 'status', 'title', 'command', 'cwd', 'exitCode', 'changes', 'plan' }

--- A JSON value, or nil for JSON null (which decodes to `vim.NIL`).
local function present(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

--- Folds one report's `items` into `steps` (a list in the order the steps
--- first appeared, and `steps.by_id`): scalars replace, `text` and
--- `outputDelta` append. Malformed entries are skipped: a step list is
--- display, never a reason to drop the answer.
---@param steps { list: codex_ls.Step[], by_id: table<string, codex_ls.Step> }
---@param updates any the report's `codex.items`
function M.fold_updates(steps, updates)
  if type(updates) ~= 'table' then
    return
  end
  for _, update in ipairs(updates) do
    if type(update) == 'table' and type(update.id) == 'string' then
      local step = steps.by_id[update.id]
      if not step then
        step = { id = update.id, type = 'notice', status = 'inProgress', title = '', skipped = 0 }
        steps.by_id[update.id] = step
        table.insert(steps.list, step)
      end
      for _, field in ipairs(replaced) do
        if present(update[field]) ~= nil then
          step[field] = update[field]
        end
      end
      if type(update.text) == 'string' then
        step.text = (step.text or '') .. update.text
      end
      if type(update.outputSkipped) == 'number' and update.outputSkipped > 0 then
        -- The server dropped the head of a flood of output: mark the gap
        -- rather than join two pieces that were not next to each other.
        step.skipped = step.skipped + update.outputSkipped
        step.output = (step.output or '') .. ('\n… %d bytes skipped …\n'):format(update.outputSkipped)
      end
      if type(update.outputDelta) == 'string' then
        step.output = (step.output or '') .. update.outputDelta
      end
    end
  end
end

--- Replaces the steps by the `end` report's final `items`, which are whole.
---@param steps { list: codex_ls.Step[], by_id: table<string, codex_ls.Step> }
---@param items any the `end` report's `codex.items`
function M.set_final(steps, items)
  if type(items) ~= 'table' then
    return
  end
  local final = M.new_steps()
  for _, item in ipairs(items) do
    if type(item) == 'table' and type(item.id) == 'string' then
      local step = vim.deepcopy(item)
      for key, value in pairs(step) do
        step[key] = present(value)
      end
      step.skipped = (steps.by_id[item.id] or {}).skipped or 0
      final.by_id[item.id] = step
      table.insert(final.list, step)
    end
  end
  steps.list, steps.by_id = final.list, final.by_id
end

--- An empty step state.
---@return { list: codex_ls.Step[], by_id: table<string, codex_ls.Step> }
function M.new_steps()
  return { list = {}, by_id = {} }
end

--- The edit of an `end` value when it is a proposal waiting to be
--- reviewed (`edit.status == "proposed"` with its range), else nil.
---@param result any the `end` value's `codex` object
---@return codex_ls.Edit?
function M.proposal(result)
  local edit = type(result) == 'table' and result.edit or nil
  if type(edit) == 'table' and edit.status == 'proposed' and type(edit.range) == 'table' then
    return edit
  end
  return nil
end

--- How many lines a hunk's text covers: line hunks end each line with a
--- line break, so `"a\nb\n"` is 2 lines and `""` none.
---@param text any
---@return integer
function M.line_count(text)
  if type(text) ~= 'string' or text == '' then
    return 0
  end
  local _, breaks = text:gsub('\n', '')
  return text:sub(-1) == '\n' and breaks or breaks + 1
end

--- Where each hunk of a proposal sits in the two sides of a diff view: in
--- the selected text (`old`, whose line 1 is the proposal range's first
--- line) and in the replacement (`new`, shifted by the lines the earlier
--- hunks add or remove). Lines are 1-based.
---@class codex_ls.HunkSpan
---@field index integer the hunk's `index`, what `codex.applyProposal` takes
---@field old_start integer
---@field old_count integer
---@field new_start integer
---@field new_count integer

---@param edit codex_ls.Edit
---@return codex_ls.HunkSpan[]
function M.hunk_spans(edit)
  local spans, shift = {}, 0
  local base = edit.range.start.line
  for _, hunk in ipairs(type(edit.hunks) == 'table' and edit.hunks or {}) do
    if type(hunk) == 'table' and type(hunk.range) == 'table' and type(hunk.index) == 'number' then
      local old_start = hunk.range.start.line - base + 1
      local old_count, new_count = M.line_count(hunk.oldText), M.line_count(hunk.newText)
      spans[#spans + 1] = {
        index = hunk.index,
        old_start = old_start,
        old_count = old_count,
        new_start = old_start + shift,
        new_count = new_count,
      }
      shift = shift + new_count - old_count
    end
  end
  return spans
end

--- The index of the hunk on line `lnum` of one side of the diff view
--- (`old` or `new`), or nil. A hunk with no lines on that side (a pure
--- insertion or deletion) is found on the line where it would be.
---@param spans codex_ls.HunkSpan[]
---@param side 'old'|'new'
---@param lnum integer
---@return integer?
function M.hunk_at(spans, side, lnum)
  for _, span in ipairs(spans) do
    local start, count = span[side .. '_start'], span[side .. '_count']
    if lnum >= start and lnum <= start + math.max(count, 1) - 1 then
      return span.index
    end
  end
  return nil
end

return M
