--- Approvals: codex-ls asks with `window/showMessageRequest` when Codex wants
--- to run a command or change files. The codex-ls client answers in a
--- confirm window of its own (a focused float with the whole request: the
--- command and cwd, or the file list, and the reason), not in
--- `vim.ui.select`: the default select reads typeahead, so keys the user was
--- typing when the request arrived (`1<CR>` in Insert mode) answered a
--- question they never saw.
---
--- The window drops pending typeahead before it opens, ignores keys for
--- `arm_ms` after it opened, and answers only on its own keys: `a` accepts,
--- `s` accepts for the session, `d`, `q` and `<Esc>` decline. Closing it
--- declines; so does no answer within the server's `approvalTimeoutSecs`.
--- When the runs end (a cancel, a timeout), an unanswered window closes.
--- Other message requests (not approvals) still go to `vim.ui.select`.
local M = {}

--- How long the confirm window ignores keys after it opened (ms): a user
--- still typing when it appears does not answer by accident.
M.arm_ms = 300

--- Is this request an approval (and not some other question)?
---@param message string
---@return boolean
function M.is_approval(message)
  return message:find('^Codex wants to') ~= nil
end

--- The key of each decision the server offers, by its title.
local decision_keys = {
  ['Accept'] = 'a',
  ['Accept for session'] = 's',
  ['Decline'] = 'd',
}

--- Keys that close the window without a choice (a decline).
local dismiss_keys = { 'q', '<Esc>' }

--- The `vim.ui.select` options for a request that is not an approval.
---@param params lsp.ShowMessageRequestParams
---@return table
function M.select_options(params)
  return {
    prompt = params.message or '',
    kind = 'lsp_message',
    format_item = function(action)
      return action.title
    end,
  }
end

--- Drops the keys waiting in the typeahead: they were typed for something
--- else, before the question was on screen.
local function flush_typeahead()
  while vim.fn.getchar(0) ~= 0 do
  end
end

--- The confirm window's lines: the request, a blank line, the keys.
---@param params lsp.ShowMessageRequestParams
---@return string[] lines, string help
local function confirm_lines(params)
  local lines = vim.split(params.message or '', '\n', { plain = true })
  local help = {}
  for _, action in ipairs(params.actions) do
    local key = decision_keys[action.title]
    if key then
      help[#help + 1] = ('[%s] %s'):format(key, action.title)
    end
  end
  help[#help + 1] = '[q/Esc] Decline'
  local help_line = table.concat(help, '   ')
  lines[#lines + 1] = ''
  lines[#lines + 1] = help_line
  return lines, help_line
end

--- Opens the confirm window for an approval and calls `on_answer` once, with
--- the chosen action or nil (declined, dismissed or closed).
---@param params lsp.ShowMessageRequestParams
---@param on_answer fun(action: lsp.MessageActionItem?)
---@return integer win
function M.confirm(params, on_answer)
  flush_typeahead()
  local origin = {
    win = vim.api.nvim_get_current_win(),
    cursor = vim.api.nvim_win_get_cursor(0),
    insert = vim.fn.mode():sub(1, 1) == 'i',
  }
  local lines, help = confirm_lines(params)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.b[buf].codex_ls_approval = { message = params.message, armed = false }
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

  local function on_key(action)
    return function()
      if not vim.b[buf].codex_ls_approval.armed then
        return
      end
      finish(action)
    end
  end
  local opts = { buffer = buf, nowait = true, silent = true }
  for _, action in ipairs(params.actions) do
    local key = decision_keys[action.title]
    if key then
      vim.keymap.set('n', key, on_key(action), opts)
    end
  end
  for _, key in ipairs(dismiss_keys) do
    vim.keymap.set('n', key, on_key(nil), opts)
  end
  vim.api.nvim_create_autocmd('User', {
    group = group,
    pattern = 'CodexLsRunEnd',
    callback = function()
      -- The run that asked ended (cancelled, timed out): the server no
      -- longer waits for this answer, so the question is withdrawn rather
      -- than left on screen. A request does not say which run asked, so
      -- it waits while any run is still going.
      for _, run in pairs(require('codex_ls.commands').runs) do
        if not run.ended_at then
          return
        end
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

--- The handler for `window/showMessageRequest` of the codex-ls client.
---
--- Neovim runs server requests in a coroutine, so the answer waits for the
--- confirm window (or for an asynchronous `vim.ui.select`: Telescope,
--- fzf-lua, snacks, ...). Outside a coroutine an approval is declined, and a
--- select that answers at once is honoured.
---@param _ lsp.ResponseError?
---@param params lsp.ShowMessageRequestParams
---@return lsp.MessageActionItem|vim.NIL
function M.show_message_request(_, params)
  local actions = params and params.actions or {}
  if #actions == 0 then
    vim.notify(params and params.message or '', vim.log.levels.WARN, { title = 'codex-ls' })
    return vim.NIL
  end
  local approval = M.is_approval(params.message or '')
  local co, is_main = coroutine.running()
  if co and not is_main then
    local answered = false
    local function answer(choice)
      if answered then
        return
      end
      answered = true
      -- Resume after the yield below, even when the answer came at once.
      vim.schedule(function()
        coroutine.resume(co, choice or vim.NIL)
      end)
    end
    if approval then
      -- At once: the keys already in the typeahead are dropped before
      -- Neovim gets to them.
      M.confirm(params, answer)
    else
      vim.ui.select(actions, M.select_options(params), answer)
    end
    return coroutine.yield()
  end
  if approval then
    vim.notify(
      'codex-ls: declined an approval that could not be asked here:\n' .. params.message,
      vim.log.levels.WARN
    )
    return vim.NIL
  end
  local answer = vim.NIL
  vim.ui.select(actions, M.select_options(params), function(choice)
    answer = choice or vim.NIL
  end)
  return answer
end

return M
