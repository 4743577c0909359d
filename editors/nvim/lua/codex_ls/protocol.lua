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

--- The plugin's state of one step: an `Item` whose `output` grows by the
--- deltas, with a note of the bytes the server dropped.
---@class codex_ls.Step: codex_ls.Item
---@field skipped integer output bytes the server dropped (head of long output)

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

return M
