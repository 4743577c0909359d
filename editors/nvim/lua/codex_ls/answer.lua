--- The conversation window: one markdown scratch buffer per conversation
--- (a document's, or the workspace's), shown in a float or a split. Each
--- exchange is the question (`## ...`, with the selection it was about),
--- the answer as it streams, the outcome when the run did not complete,
--- and the agent's steps folded under it. Runs on the same document add
--- their exchange to the same buffer, so floats no longer pile up one per
--- run; earlier exchanges come from `codex.conversation` (Codex keeps the
--- thread), so the history is back after a restart.
---
--- The title says what was last asked, the run's status and, while it
--- runs, its current step. `q` hides the window (the buffer, and the run,
--- stay), `<C-c>` (the `answer.cancel_key` option) cancels the running
--- run, `<CR>` (or `za`, `zo`, `zc`) on a step shows or hides its details,
--- `gd` on a file change opens its diff in a tab. `:CodexAsk`,
--- `:CodexSteer`, `:CodexCancel` and `:CodexConversations` in the buffer
--- act on its conversation (see `commands.lua`).
local protocol = require('codex_ls.protocol')
local steps = require('codex_ls.steps')

local M = {}

--- The key that opens the diff of a file-change step.
M.diff_key = 'gd'

--- One exchange: a live run of this Neovim, or a turn Codex kept.
---@class codex_ls.Exchange
---@field key string the run's token, or `turn:<turnId>`
---@field question string
---@field selection? string what the question was about (`lines 2-3`)
---@field steers string[] input added to the running turn
---@field run? codex_ls.Run
---@field turn? codex_ls.ConversationTurn
---@field steps? { list: codex_ls.Step[], by_id: table<string, codex_ls.Step> } a kept turn's steps

--- Where a conversation's document lives, for the commands typed in its
--- window.
---@class codex_ls.ConversationSource
---@field bufnr integer
---@field uri string
---@field client_id integer
---@field scope? codex_ls.Scope

--- What the window's keys and commands do; `commands.lua` supplies them.
---@class codex_ls.ConversationActions
---@field cancel fun(token: string)
---@field ask fun(window: codex_ls.AnswerWindow, prompt: string, queue: boolean)
---@field steer fun(window: codex_ls.AnswerWindow, prompt: string)
---@field pick fun(window: codex_ls.AnswerWindow)

---@class codex_ls.AnswerWindow
---@field buf integer
---@field win? integer
---@field key string the conversation: `document:<uri>` or `workspace`
---@field source codex_ls.ConversationSource
---@field token? string the newest run's token
---@field thread_id? string the Codex thread, once known
---@field title? string the conversation's title, from Codex
---@field style 'float'|'split'
---@field slot integer the float's place in the stack of open answer floats
---@field exchanges codex_ls.Exchange[]
---@field expanded table<string, boolean> `<exchange key>/<step id>` of the steps whose details are shown
---@field owners table<integer, { exchange: string, step: string }> line number → the step shown there
---@field spans table<string, { first: integer, last: integer }> exchange key → the lines of its answer
---@field actions codex_ls.ConversationActions
local Window = {}
Window.__index = Window

--- Conversation windows by every run token they show.
---@type table<string, codex_ls.AnswerWindow>
M.windows = {}

--- Conversation windows by conversation key.
---@type table<string, codex_ls.AnswerWindow>
M.conversations = {}

local function options()
  return require('codex_ls').options.answer
end

local function size(value, total)
  if value < 1 then
    return math.max(1, math.floor(total * value))
  end
  return math.min(total, math.floor(value))
end

--- The conversation a run on `uri` belongs to: the document's own, or the
--- workspace's (the server keeps one thread per each).
---@param uri string
---@param scope? codex_ls.Scope
---@return string
function M.key_of(uri, scope)
  if scope == 'workspace' then
    return 'workspace'
  end
  return 'document:' .. uri
end

--- The first free slot in the stack of floats, so several conversations
--- stay visible at once.
local function free_slot()
  local taken = {}
  for _, window in pairs(M.conversations) do
    if window.style == 'float' and window:is_open() then
      taken[window.slot] = true
    end
  end
  local slot = 0
  while taken[slot] do
    slot = slot + 1
  end
  return slot
end

--- The longest question or current step a title shows, in display cells.
local title_part_width = 60

local function one_line(text, width)
  text = text:gsub('%s*\n%s*', ' ')
  if vim.fn.strdisplaywidth(text) > width then
    text = vim.fn.strcharpart(text, 0, width - 1) .. '…'
  end
  return text
end

--- The status a title shows for a run: `completed`, `failed: <code>`, and
--- while it runs, its current step.
---@param run codex_ls.Run
local function run_status(run)
  local status = run.status
  if run.status == 'failed' and run.error and run.error.code then
    status = 'failed: ' .. run.error.code
  end
  local step = not run.ended_at and run.step or ''
  if step ~= '' then
    return ('%s: %s'):format(status, one_line(step, title_part_width))
  end
  return status
end

--- What an exchange asked, as a title says it: `Codex: <prompt>`, or the
--- run's title (`Codex: Explain`) when the run had no prompt of its own.
---@param exchange codex_ls.Exchange
local function asked(exchange)
  if exchange.run and exchange.question == exchange.run.title then
    return exchange.question
  end
  return 'Codex: ' .. one_line(exchange.question, title_part_width)
end

--- The title: what was last asked and how its run stands; for history
--- alone, the conversation's title and its length.
---@param window codex_ls.AnswerWindow
local function title_of(window)
  local last = window.exchanges[#window.exchanges]
  if not last then
    return ' Codex: conversation '
  end
  if last.run then
    return (' %s · %s '):format(asked(last), run_status(last.run))
  end
  local name = window.title and window.title ~= '' and ('Codex: ' .. one_line(window.title, title_part_width))
    or asked(last)
  return (' %s · %d exchange(s) '):format(name, #window.exchanges)
end

--- The outcome line of a run (or kept turn) that did not complete.
---@param status string
---@param err? { code?: string, message?: string }
local function outcome_of(status, err)
  if status == 'interrupted' then
    return '_Cancelled._'
  elseif err then
    return ('**%s** (`%s`): %s'):format(status, err.code or '?', err.message or '')
  end
  return ('**%s**'):format(status)
end

--- The answer lines of a live run: the streamed answer, then the outcome
--- when the run did not complete.
---@param run codex_ls.Run
---@return string[]
local function run_answer_lines(run)
  local lines = vim.split(run.text, '\n', { plain = true })
  if run.ended_at and run.status ~= 'completed' then
    if run.text ~= '' then
      vim.list_extend(lines, { '', '---' })
    else
      lines = {}
    end
    vim.list_extend(lines, vim.split(outcome_of(run.status, run.error), '\n', { plain = true }))
  elseif not run.ended_at and run.text == '' then
    lines = { '_Waiting for Codex…_' }
  end
  return lines
end

--- The answer lines of a turn Codex kept.
---@param turn codex_ls.ConversationTurn
---@return string[]
local function turn_answer_lines(turn)
  local answer = type(turn.answer) == 'string' and turn.answer or ''
  local lines = answer ~= '' and vim.split(answer, '\n', { plain = true }) or {}
  if turn.status ~= 'completed' and turn.status ~= 'inProgress' then
    if #lines > 0 then
      vim.list_extend(lines, { '', '---' })
    end
    lines[#lines + 1] = outcome_of(turn.status or 'failed')
  end
  if #lines == 0 then
    lines = { '_No answer._' }
  end
  return lines
end

--- The heading of an exchange: its question as a markdown heading (the
--- first line; the others follow as text), the selection, the steers.
---@param exchange codex_ls.Exchange
---@return string[]
local function heading_of(exchange)
  local question = vim.split(exchange.question, '\n', { plain = true })
  local lines = { '## ' .. question[1] }
  vim.list_extend(lines, vim.list_slice(question, 2))
  local selection = exchange.run and exchange.run.selection or exchange.selection
  if selection and selection ~= '' then
    lines[#lines + 1] = ('_%s_'):format(selection)
  end
  for _, steer in ipairs(exchange.steers) do
    lines[#lines + 1] = '> ' .. one_line(steer, 200)
  end
  return lines
end

--- The buffer's lines, every exchange in order, with the lines of each
--- answer and the step shown on each line.
---@param window codex_ls.AnswerWindow
---@return string[] lines
---@return table<integer, { exchange: string, step: string }> owners
---@return table<string, { first: integer, last: integer }> spans
local function content_of(window)
  local lines, owners, spans = {}, {}, {}
  for index, exchange in ipairs(window.exchanges) do
    if index > 1 then
      lines[#lines + 1] = ''
    end
    vim.list_extend(lines, heading_of(exchange))
    lines[#lines + 1] = ''
    local answer = exchange.run and run_answer_lines(exchange.run) or turn_answer_lines(exchange.turn)
    spans[exchange.key] = { first = #lines + 1, last = #lines + #answer }
    vim.list_extend(lines, answer)
    local state = exchange.run and exchange.run.steps or exchange.steps
    local list = state and state.list or {}
    if #list > 0 then
      local expanded = {}
      for _, step in ipairs(list) do
        expanded[step.id] = window.expanded[exchange.key .. '/' .. step.id]
      end
      local step_lines, step_owners = steps.lines(list, expanded)
      lines[#lines + 1] = ''
      local offset = #lines
      vim.list_extend(lines, step_lines)
      for line, id in pairs(step_owners) do
        owners[offset + line] = { exchange = exchange.key, step = id }
      end
    end
  end
  return lines, owners, spans
end

--- The conversation window of `key`, made (hidden) when there is none yet.
---@param key string see `M.key_of`
---@param source codex_ls.ConversationSource
---@param actions codex_ls.ConversationActions
---@return codex_ls.AnswerWindow window, boolean made
function M.conversation(key, source, actions)
  local window = M.conversations[key]
  if window and vim.api.nvim_buf_is_valid(window.buf) then
    window.source = source
    return window, false
  end
  local opts = options()
  local buf = vim.api.nvim_create_buf(false, true)
  -- Hidden, not wiped, when its window closes: the conversation goes on,
  -- and its next exchange shows it again.
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].filetype = 'markdown'
  vim.bo[buf].modifiable = false
  local name = key == 'workspace' and 'workspace' or vim.fn.fnamemodify(vim.uri_to_fname(source.uri), ':~:.')
  pcall(vim.api.nvim_buf_set_name, buf, 'codex-ls://conversation/' .. name)
  window = setmetatable({
    buf = buf,
    key = key,
    source = source,
    style = opts.style,
    slot = 0,
    exchanges = {},
    expanded = {},
    owners = {},
    spans = {},
    actions = actions,
  }, Window)
  M.conversations[key] = window
  window:map_keys()
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      window:forget()
    end,
  })
  return window, true
end

--- The keys and commands of the conversation buffer.
function Window:map_keys()
  local opts = options()
  local buf = self.buf
  local map = { buffer = buf, nowait = true, silent = true }
  local function key(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, vim.tbl_extend('force', map, { desc = desc }))
  end
  key(opts.close_key, function()
    self:close()
  end, 'Hide the Codex conversation')
  key(opts.cancel_key, function()
    self:cancel()
  end, 'Cancel the running Codex run')
  -- The steps are folded by the plugin (not by Vim folds, which a redraw of
  -- the streaming buffer would reset), so the usual fold keys toggle them.
  for _, lhs in ipairs({ '<CR>', 'za', 'zo', 'zc' }) do
    key(lhs, function()
      self:toggle_step(vim.api.nvim_win_get_cursor(0)[1])
    end, 'Show or hide the details of a Codex step')
  end
  key(M.diff_key, function()
    self:open_diff(vim.api.nvim_win_get_cursor(0)[1])
  end, 'Open the diff of the files a Codex step changed')
  local command = vim.api.nvim_buf_create_user_command
  command(buf, 'CodexCancel', function()
    self:cancel()
  end, { desc = 'Cancel the running Codex run of this conversation' })
  command(buf, 'CodexAsk', function(args)
    self.actions.ask(self, vim.trim(args.args), args.bang)
  end, { nargs = '+', bang = true, desc = 'Ask a follow-up in this conversation (! queues it behind a running run)' })
  command(buf, 'CodexSteer', function(args)
    self.actions.steer(self, vim.trim(args.args))
  end, { nargs = '+', desc = 'Add input to the running Codex turn' })
  vim.b[buf].codex_ls_conversation = self.key
  command(buf, 'CodexFork', function()
    require('codex_ls.commands').fork()
  end, { desc = 'Fork this Codex conversation and continue the copy' })
  command(buf, 'CodexUndo', function()
    require('codex_ls.commands').undo_last()
  end, { desc = 'Drop the last exchange of this Codex conversation' })
  command(buf, 'CodexConversations', function()
    self.actions.pick(self)
  end, { desc = 'Pick an earlier Codex conversation' })
end

--- The run of this conversation still running, if any (the newest).
---@return codex_ls.Run?
function Window:running()
  for index = #self.exchanges, 1, -1 do
    local run = self.exchanges[index].run
    if run and not run.ended_at then
      return run
    end
  end
  return nil
end

--- Cancels the running run, if any.
function Window:cancel()
  local run = self:running()
  if run then
    self.actions.cancel(run.token)
  end
end

--- Adds a run that is starting as the conversation's newest exchange.
---@param run codex_ls.Run
function Window:add_run(run)
  self.token = run.token
  vim.b[self.buf].codex_ls_token = run.token
  M.windows[run.token] = self
  self.exchanges[#self.exchanges + 1] = {
    key = run.token,
    question = (run.prompt and run.prompt ~= '') and run.prompt or run.title,
    steers = {},
    run = run,
  }
end

--- Takes out the exchange of a run that never started (the server refused
--- it); a window left with nothing to show is hidden.
---@param run codex_ls.Run
function Window:drop_run(run)
  self.exchanges = vim.tbl_filter(function(exchange)
    return exchange.run ~= run
  end, self.exchanges)
  M.windows[run.token] = nil
  if #self.exchanges == 0 then
    self:close()
  end
  self:redraw()
end

--- Notes input the user added to a running run (`:CodexSteer`).
---@param run codex_ls.Run
---@param prompt string
function Window:add_steer(run, prompt)
  for _, exchange in ipairs(self.exchanges) do
    if exchange.run == run then
      table.insert(exchange.steers, prompt)
    end
  end
  self:redraw()
end

--- Replaces the kept history by `conversation` (from `codex.conversation`):
--- its turns come first, then this Neovim's runs that are not among them
--- (a turn still in progress is the live run's own).
---@param conversation codex_ls.Conversation
function Window:set_history(conversation)
  self.thread_id = conversation.threadId or self.thread_id
  self.title = conversation.title
  local live, live_turns = {}, {}
  for _, exchange in ipairs(self.exchanges) do
    if exchange.run then
      live[#live + 1] = exchange
      if exchange.run.turn_id then
        live_turns[exchange.run.turn_id] = true
      end
    end
  end
  local exchanges = {}
  for _, turn in ipairs(type(conversation.turns) == 'table' and conversation.turns or {}) do
    if type(turn) == 'table' and turn.status ~= 'inProgress' and not live_turns[turn.turnId] then
      local state = protocol.new_steps()
      protocol.set_final(state, turn.items)
      exchanges[#exchanges + 1] = {
        key = 'turn:' .. tostring(turn.turnId),
        question = type(turn.prompt) == 'string' and turn.prompt ~= '' and turn.prompt or (turn.title or '?'),
        steers = {},
        turn = turn,
        steps = state,
      }
    end
  end
  self.exchanges = vim.list_extend(exchanges, live)
  self:redraw()
end

--- Shows the window when it is hidden; `focus` moves the cursor into it.
---@param focus? boolean
function Window:show(focus)
  local opts = options()
  if self:is_open() and self.style ~= opts.style then
    -- The user changed `answer.style`: the next exchange shows in it.
    self:close()
  end
  if not self:is_open() then
    self.style = opts.style
    if self.style == 'split' then
      local previous = vim.api.nvim_get_current_win()
      self.win = vim.api.nvim_open_win(self.buf, false, { split = opts.split, win = -1 })
      if vim.api.nvim_win_is_valid(previous) then
        vim.api.nvim_set_current_win(previous)
      end
    else
      self.slot = free_slot()
      self.win = vim.api.nvim_open_win(self.buf, false, self:float_config(1))
    end
    vim.wo[self.win].wrap = true
  end
  self:redraw()
  if focus then
    vim.api.nvim_set_current_win(self.win)
  end
end

--- Opens the conversation window of a run that is starting (made, or shown
--- again, with the exchanges so far) and adds the run to it.
---@param run codex_ls.Run
---@param source codex_ls.ConversationSource
---@param actions codex_ls.ConversationActions
---@return codex_ls.AnswerWindow window, boolean made
function M.open(run, source, actions)
  local window, made = M.conversation(M.key_of(run.uri, source.scope), source, actions)
  window:add_run(run)
  window:show()
  return window, made
end

--- The float's width in columns.
local function float_width()
  local columns = vim.o.columns
  return math.max(20, math.min(size(options().width, columns), columns - 2))
end

--- The float's placement: top right, below the conversations already open.
---@param height integer
function Window:float_config(height)
  local opts = options()
  local columns, rows = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
  local config = {
    relative = 'editor',
    anchor = 'NE',
    row = math.min(self.slot * 3, math.max(0, rows - 3)),
    col = columns,
    width = float_width(),
    height = math.max(1, math.min(height, size(opts.height, rows))),
    style = 'minimal',
    border = opts.border,
    focusable = true,
    zindex = 60 + self.slot,
  }
  -- A float's title needs a border.
  if opts.border ~= 'none' and opts.border ~= '' then
    config.title = title_of(self)
    config.title_pos = 'left'
  end
  return config
end

---@return boolean
function Window:is_open()
  return self.win ~= nil and vim.api.nvim_win_is_valid(self.win) and vim.api.nvim_win_get_buf(self.win) == self.buf
end

--- The buffer's text (what the user reads).
---@return string
function Window:text()
  if not vim.api.nvim_buf_is_valid(self.buf) then
    return ''
  end
  return table.concat(vim.api.nvim_buf_get_lines(self.buf, 0, -1, false), '\n')
end

--- The answer of one exchange (by run token or `turn:<id>`), as shown.
---@param key string
---@return string
function Window:answer_text(key)
  local span = self.spans[key]
  if not span or not vim.api.nvim_buf_is_valid(self.buf) then
    return ''
  end
  return table.concat(vim.api.nvim_buf_get_lines(self.buf, span.first - 1, span.last, false), '\n')
end

--- Shows or hides the details of the step on line `lnum`; elsewhere does
--- nothing.
---@param lnum integer
function Window:toggle_step(lnum)
  local owner = self.owners[lnum]
  if not owner then
    return
  end
  local id = owner.exchange .. '/' .. owner.step
  self.expanded[id] = not self.expanded[id]
  self:redraw()
  -- Back on the step's own line, now that its details came or went.
  for line, other in pairs(self.owners) do
    local before = self.owners[line - 1]
    local same = function(o)
      return o and o.exchange == owner.exchange and o.step == owner.step
    end
    if same(other) and not same(before) and self:is_open() then
      pcall(vim.api.nvim_win_set_cursor, self.win, { line, 0 })
    end
  end
end

--- The step shown on line `lnum`, if any.
---@param lnum integer
---@return codex_ls.Step?
function Window:step_at(lnum)
  local owner = self.owners[lnum]
  if not owner then
    return nil
  end
  for _, exchange in ipairs(self.exchanges) do
    if exchange.key == owner.exchange then
      local state = exchange.run and exchange.run.steps or exchange.steps
      return state and state.by_id[owner.step]
    end
  end
  return nil
end

--- Opens the diffs of the files changed by the step on line `lnum` in a
--- tab of their own (a `diff` buffer, one section per file), for a closer
--- look than the folded step gives; elsewhere says there is none.
---@param lnum integer
function Window:open_diff(lnum)
  local step = self:step_at(lnum)
  if not step or type(step.changes) ~= 'table' or #step.changes == 0 then
    vim.notify('codex-ls: no file change on this line', vim.log.levels.WARN)
    return
  end
  local lines = {}
  for _, change in ipairs(step.changes) do
    local path = steps.display_path(change.path)
    vim.list_extend(lines, { '--- a/' .. path, '+++ b/' .. path })
    vim.list_extend(lines, protocol.diff_lines(change))
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'diff'
  vim.cmd(('tab sbuffer %d'):format(buf))
  vim.keymap.set('n', 'q', '<Cmd>tabclose<CR>', { buffer = buf, nowait = true, silent = true, desc = 'Close the diff' })
end

--- Redraws after a run changed (kept for the run registry's calls).
---@param _ codex_ls.Run
function Window:update(_)
  self:redraw()
end

--- Redraws the text and the title from the exchanges.
function Window:redraw()
  if not vim.api.nvim_buf_is_valid(self.buf) then
    return
  end
  local lines, owners, spans = content_of(self)
  vim.bo[self.buf].modifiable = true
  local drawn = pcall(vim.api.nvim_buf_set_lines, self.buf, 0, -1, false, lines)
  vim.bo[self.buf].modifiable = false
  if not drawn then
    -- A run can end while text may not change (a client detaching in an
    -- autocommand): draw once that is over.
    vim.schedule(function()
      self:redraw()
    end)
    return
  end
  self.owners, self.spans = owners, spans
  vim.bo[self.buf].modified = false
  if not self:is_open() then
    return
  end
  if self.style == 'split' then
    vim.wo[self.win].winbar = title_of(self)
  else
    -- Grow with the text: the height counts wrapped lines.
    local width = float_width()
    local height = 0
    for _, line in ipairs(lines) do
      height = height + math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / width))
    end
    local config = self:float_config(height)
    vim.api.nvim_win_set_config(self.win, config)
    if not config.title then
      vim.wo[self.win].winbar = title_of(self)
    end
  end
  -- Follow the end of the conversation while it streams, unless the user
  -- moved in it.
  if vim.api.nvim_get_current_win() ~= self.win then
    pcall(vim.api.nvim_win_set_cursor, self.win, { #lines, 0 })
  end
end

--- Hides the window; the conversation (its buffer) and its runs go on.
function Window:close()
  if self:is_open() then
    pcall(vim.api.nvim_win_close, self.win, true)
  end
  self.win = nil
end

--- Drops the conversation from the registry (its buffer was wiped).
function Window:forget()
  if M.conversations[self.key] == self then
    M.conversations[self.key] = nil
  end
  for token, window in pairs(M.windows) do
    if window == self then
      M.windows[token] = nil
    end
  end
end

return M
