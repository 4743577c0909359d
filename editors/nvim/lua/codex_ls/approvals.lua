--- Approvals: codex-ls asks with the typed request `codex/requestApproval`
--- (the client declares `capabilities.experimental.codex.approvals`) when
--- Codex wants to run a command, change files or get more permissions. The
--- codex-ls client answers in a confirm window of its own (a focused float
--- with the whole request: the command and cwd, or the file list, and the
--- reason; `v` shows the diffs of file changes), not in `vim.ui.select`: the
--- default select reads typeahead, so keys the user was typing when the
--- request arrived (`1<CR>` in Insert mode) answered a question they never
--- saw.
---
--- The window drops pending typeahead before it opens, ignores keys for
--- `arm_ms` after it opened, and answers only on its own keys: `a` accepts,
--- `s` accepts for the session, `d`, `q` and `<Esc>` decline. Closing it
--- declines; so does no answer within the server's `approvalTimeoutSecs`.
--- When the run that asked ends (a cancel, a timeout), an unanswered window
--- closes. A codex-ls without typed approvals asks with
--- `window/showMessageRequest`; the same window answers those, whatever the
--- message says.
local protocol = require('codex_ls.protocol')
local steps = require('codex_ls.steps')

local M = {}

--- How long the confirm window ignores keys after it opened (ms): a user
--- still typing when it appears does not answer by accident.
M.arm_ms = 300

--- The key and label of each typed decision.
local decisions = {
  accept = { key = 'a', label = 'Accept' },
  acceptForSession = { key = 's', label = 'Accept for session' },
  decline = { key = 'd', label = 'Decline' },
}

--- The key of each `showMessageRequest` action, by its title; other titles
--- get the keys 1 to 9.
local action_keys = {
  ['Accept'] = 'a',
  ['Accept for session'] = 's',
  ['Decline'] = 'd',
}

--- Keys that close the window without a choice (a decline).
local dismiss_keys = { 'q', '<Esc>' }

--- The key that shows the diffs of a file change.
M.diff_key = 'v'

---@class codex_ls.Choice
---@field key string
---@field label string
---@field value any what `on_answer` gets

---@class codex_ls.Question
---@field lines string[] the request, as the window shows it
---@field choices codex_ls.Choice[]
---@field changes? codex_ls.FileChange[] file changes whose diffs `v` shows
---@field run_id? integer the run that asked, when the request says so

--- Drops the keys waiting in the typeahead: they were typed for something
--- else, before the question was on screen.
local function flush_typeahead()
  while vim.fn.getchar(0) ~= 0 do
  end
end

--- Lines added and removed by a file change.
---@param change codex_ls.FileChange
---@return integer added, integer removed
local function diff_stat(change)
  local added, removed = 0, 0
  for _, line in ipairs(protocol.diff_lines(change)) do
    if line:find('^%+') and not line:find('^%+%+%+ ') then
      added = added + 1
    elseif line:find('^%-') and not line:find('^%-%-%- ') then
      removed = removed + 1
    end
  end
  return added, removed
end

--- The question of a typed `codex/requestApproval`.
---@param request codex_ls.ApprovalRequest
---@return codex_ls.Question
function M.approval_question(request)
  local lines = { request.title or 'Codex asks for approval' }
  local function text(value)
    return type(value) == 'string' and value ~= '' and value or nil
  end
  if text(request.command) then
    vim.list_extend(lines, vim.split('$ ' .. request.command, '\n', { plain = true }))
  end
  if text(request.cwd) then
    lines[#lines + 1] = 'in ' .. request.cwd
  end
  local changes = type(request.changes) == 'table' and request.changes or nil
  for _, change in ipairs(changes or {}) do
    local added, removed = diff_stat(change)
    local path = steps.display_path(change.path)
    lines[#lines + 1] = ('%s %s (+%d -%d)'):format(change.kind or 'update', path, added, removed)
  end
  if text(request.permissions) then
    vim.list_extend(lines, vim.split('Permissions: ' .. request.permissions, '\n', { plain = true }))
  end
  if text(request.reason) then
    vim.list_extend(lines, vim.split('Reason: ' .. request.reason, '\n', { plain = true }))
  end
  local choices = {}
  for _, decision in ipairs(type(request.decisions) == 'table' and request.decisions or {}) do
    local known = decisions[decision]
    if known then
      choices[#choices + 1] = { key = known.key, label = known.label, value = decision }
    end
  end
  return {
    lines = lines,
    choices = choices,
    changes = changes and #changes > 0 and changes or nil,
    run_id = type(request.runId) == 'number' and request.runId or nil,
  }
end

--- The question of a `window/showMessageRequest`: its message and actions.
---@param params lsp.ShowMessageRequestParams
---@return codex_ls.Question
function M.message_question(params)
  local choices, number = {}, 0
  for _, action in ipairs(params.actions or {}) do
    local key = action_keys[action.title]
    if not key and number < 9 then
      number = number + 1
      key = tostring(number)
    end
    if key then
      choices[#choices + 1] = { key = key, label = action.title, value = action }
    end
  end
  return { lines = vim.split(params.message or '', '\n', { plain = true }), choices = choices }
end

--- The confirm window's lines: the question, a blank line, the keys.
---@param question codex_ls.Question
---@return string[] lines, string help
local function confirm_lines(question)
  local lines = vim.deepcopy(question.lines)
  local help = {}
  for _, choice in ipairs(question.choices) do
    help[#help + 1] = ('[%s] %s'):format(choice.key, choice.label)
  end
  help[#help + 1] = '[q/Esc] Decline'
  if question.changes then
    help[#help + 1] = ('[%s] View diff'):format(M.diff_key)
  end
  local help_line = table.concat(help, '   ')
  lines[#lines + 1] = ''
  lines[#lines + 1] = help_line
  return lines, help_line
end

--- Opens the diffs of a request's file changes in a focused float (a
--- scratch buffer with 'filetype' diff) above the confirm window; `q`
--- closes it and goes back to the question.
---@param changes codex_ls.FileChange[]
---@param confirm_win integer
---@return integer win
function M.show_diff(changes, confirm_win)
  local lines = {}
  for _, change in ipairs(changes) do
    local diff = protocol.diff_lines(change)
    -- A diff without file headers still says which file it is about.
    if not (diff[1] or ''):find('^%-%-%- ') then
      local path = steps.display_path(change.path)
      lines[#lines + 1] = '--- ' .. (change.kind == 'add' and '/dev/null' or ('a/' .. path))
      lines[#lines + 1] = '+++ ' .. (change.kind == 'delete' and '/dev/null' or ('b/' .. path))
    end
    vim.list_extend(lines, diff)
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'diff'
  vim.b[buf].codex_ls_approval_diff = true
  local width = math.max(vim.o.columns - 8, 20)
  local height = math.max(math.min(#lines, vim.o.lines - 6), 1)
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    row = math.max(math.floor((vim.o.lines - height) / 2) - 1, 0),
    col = math.max(math.floor((vim.o.columns - width) / 2), 0),
    width = width,
    height = height,
    border = 'rounded',
    title = ' Codex approval: changes (q closes) ',
    title_pos = 'center',
    zindex = 100,
  })
  vim.keymap.set('n', 'q', function()
    vim.api.nvim_win_close(win, true)
    if vim.api.nvim_win_is_valid(confirm_win) then
      vim.api.nvim_set_current_win(confirm_win)
    end
  end, { buffer = buf, nowait = true, silent = true })
  return win
end

--- Has the run that asked ended? A request that does not say which run
--- asked (`showMessageRequest`) waits while any run is still going.
---@param run_id? integer
---@return boolean
local function asker_ended(run_id)
  for _, run in pairs(require('codex_ls.commands').runs) do
    if not run.ended_at and (run_id == nil or run.run_id == run_id) then
      return false
    end
  end
  return true
end

--- Opens the confirm window for a question and calls `on_answer` once, with
--- the chosen choice's value or nil (declined, dismissed or closed).
---@param question codex_ls.Question
---@param on_answer fun(value: any)
---@return integer win
function M.confirm(question, on_answer)
  flush_typeahead()
  local origin = {
    win = vim.api.nvim_get_current_win(),
    cursor = vim.api.nvim_win_get_cursor(0),
    insert = vim.fn.mode():sub(1, 1) == 'i',
  }
  local lines, help = confirm_lines(question)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.b[buf].codex_ls_approval = { message = table.concat(question.lines, '\n'), armed = false }
  local width = vim.fn.strdisplaywidth(help)
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width, math.max(vim.o.columns - 4, 20))
  local height = math.min(#lines, math.max(vim.o.lines - 4, 3))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    row = math.max(math.floor((vim.o.lines - height) / 2) - 1, 0),
    col = math.max(math.floor((vim.o.columns - width) / 2), 0),
    width = width,
    height = height,
    style = 'minimal',
    border = 'rounded',
    title = ' Codex approval ',
    title_pos = 'center',
    noautocmd = true,
  })
  vim.wo[win].wrap = true
  -- An Insert-mode user lands in Normal mode here, so the window's keys are
  -- keys, not text; Insert mode comes back after the answer.
  vim.cmd.stopinsert()

  local answered = false
  local group = vim.api.nvim_create_augroup('codex_ls_approval_' .. win, { clear = true })
  local function finish(action)
    if answered then
      return
    end
    answered = true
    vim.api.nvim_del_augroup_by_id(group)
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
    if vim.api.nvim_win_is_valid(origin.win) then
      vim.api.nvim_set_current_win(origin.win)
      if origin.insert then
        pcall(vim.api.nvim_win_set_cursor, origin.win, origin.cursor)
        local line = vim.api.nvim_get_current_line()
        if origin.cursor[2] >= #line then
          vim.cmd.startinsert({ bang = true })
        else
          vim.cmd.startinsert()
        end
      end
    end
    on_answer(action)
  end

  local function on_key(value)
    return function()
      if not vim.b[buf].codex_ls_approval.armed then
        return
      end
      finish(value)
    end
  end
  local opts = { buffer = buf, nowait = true, silent = true }
  -- A decision key the request does not offer does nothing (rather than
  -- edit the read-only buffer and show an error).
  for _, decision in pairs(decisions) do
    vim.keymap.set('n', decision.key, '<Nop>', opts)
  end
  for _, choice in ipairs(question.choices) do
    vim.keymap.set('n', choice.key, on_key(choice.value), opts)
  end
  for _, key in ipairs(dismiss_keys) do
    vim.keymap.set('n', key, on_key(nil), opts)
  end
  if question.changes then
    -- Looking decides nothing, so it needs no arming.
    vim.keymap.set('n', M.diff_key, function()
      M.show_diff(question.changes, win)
    end, opts)
  end
  vim.api.nvim_create_autocmd('User', {
    group = group,
    pattern = 'CodexLsRunEnd',
    callback = function()
      -- The run that asked ended (cancelled, timed out): the server no
      -- longer waits for this answer, so the question is withdrawn rather
      -- than left on screen.
      if not asker_ended(question.run_id) then
        return
      end
      vim.schedule(function()
        if not answered then
          vim.notify('codex-ls: the run ended; its approval request was withdrawn', vim.log.levels.INFO)
          finish(nil)
        end
      end)
    end,
  })
  vim.api.nvim_create_autocmd('WinClosed', {
    group = group,
    pattern = tostring(win),
    once = true,
    callback = function()
      -- Closed some other way (`:close`, `<C-w>c`): no answer, a decline.
      vim.schedule(function()
        finish(nil)
      end)
    end,
  })
  vim.defer_fn(function()
    if vim.api.nvim_buf_is_valid(buf) then
      local state = vim.b[buf].codex_ls_approval
      state.armed = true
      vim.b[buf].codex_ls_approval = state
    end
  end, M.arm_ms)
  return win
end

--- Asks `question` in the confirm window and returns the answer, from
--- inside the coroutine Neovim runs server requests in; outside one the
--- question cannot wait, and `on_unasked` gives the answer.
---@param question codex_ls.Question
---@param on_unasked fun(): any
---@return any value the chosen choice's value, or nil
local function ask(question, on_unasked)
  local co, is_main = coroutine.running()
  if not co or is_main then
    return on_unasked()
  end
  local answered = false
  M.confirm(question, function(value)
    if answered then
      return
    end
    answered = true
    -- Resume after the yield below, even when the answer came at once.
    vim.schedule(function()
      coroutine.resume(co, value)
    end)
  end)
  return coroutine.yield()
end

--- The handler for `codex/requestApproval`: the decision chosen, and a
--- decline for anything else (fail closed).
---@param _ lsp.ResponseError?
---@param request codex_ls.ApprovalRequest
---@return codex_ls.ApprovalResponse
function M.request_approval(_, request)
  if type(request) ~= 'table' then
    return { decision = 'decline' }
  end
  local question = M.approval_question(request)
  local decision = ask(question, function()
    vim.notify(
      'codex-ls: declined an approval that could not be asked here:\n' .. table.concat(question.lines, '\n'),
      vim.log.levels.WARN
    )
    return nil
  end)
  return { decision = decision or 'decline' }
end

--- The handler for `window/showMessageRequest` of the codex-ls client: a
--- codex-ls without typed approvals asks them this way, and every question
--- of the server gets the confirm window, so none is answered by typeahead.
---@param _ lsp.ResponseError?
---@param params lsp.ShowMessageRequestParams
---@return lsp.MessageActionItem|vim.NIL
function M.show_message_request(_, params)
  local actions = params and params.actions or {}
  if #actions == 0 then
    vim.notify(params and params.message or '', vim.log.levels.WARN, { title = 'codex-ls' })
    return vim.NIL
  end
  local action = ask(M.message_question(params), function()
    vim.notify('codex-ls: declined a request that could not be asked here:\n' .. params.message, vim.log.levels.WARN)
    return nil
  end)
  return action or vim.NIL
end

return M
