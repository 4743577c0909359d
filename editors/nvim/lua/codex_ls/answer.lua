--- The live answer window: a markdown scratch buffer in a float or a split
--- that grows as a run's `$/progress` reports arrive, shows the run's status
--- and current step in its title, the agent's steps folded under the answer,
--- and ends with the outcome. `q` closes it, `<C-c>` (the
--- `answer.cancel_key` option) cancels the run, `<CR>` (or `za`, `zo`, `zc`)
--- on a step shows or hides its details. Each run has its own window.
local steps = require('codex_ls.steps')

local M = {}

---@class codex_ls.AnswerWindow
---@field buf integer
---@field win? integer
---@field token string
---@field style 'float'|'split'
---@field slot integer the float's place in the stack of open answer floats
---@field expanded table<string, boolean> the steps whose details are shown
---@field owners table<integer, string> line number → the step shown there
---@field run? codex_ls.Run the run last drawn, to redraw after a toggle
local Window = {}
Window.__index = Window

--- Open answer windows by token.
---@type table<string, codex_ls.AnswerWindow>
M.windows = {}

local function options()
  return require('codex_ls').options.answer
end

local function size(value, total)
  if value < 1 then
    return math.max(1, math.floor(total * value))
  end
  return math.min(total, math.floor(value))
end

--- The first free slot in the stack of floats, so several answers stay
--- visible at once.
local function free_slot()
  local taken = {}
  for _, window in pairs(M.windows) do
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

--- The longest current step a title shows, in display cells.
local step_width = 60

--- The title: the run's title, its status, and while it runs, its current
--- step (the report's `message`).
---@param run codex_ls.Run
local function title_of(run)
  local status = run.status
  if run.status == 'failed' and run.error and run.error.code then
    status = 'failed: ' .. run.error.code
  end
  local step = not run.ended_at and run.step or ''
  if step ~= '' then
    step = step:gsub('\n', ' ')
    if vim.fn.strdisplaywidth(step) > step_width then
      step = vim.fn.strcharpart(step, 0, step_width - 1) .. '…'
    end
    return (' %s · %s: %s '):format(run.title, status, step)
  end
  return (' %s · %s '):format(run.title, status)
end

--- The buffer's lines: the streamed answer, then the outcome when the run
--- did not complete.
---@param run codex_ls.Run
---@return string[]
local function lines_of(run)
  local lines = vim.split(run.text, '\n', { plain = true })
  if run.ended_at and run.status ~= 'completed' then
    local outcome
    if run.status == 'interrupted' then
      outcome = '_Cancelled._'
    elseif run.error then
      outcome = ('**%s** (`%s`): %s'):format(run.status, run.error.code or '?', run.error.message or '')
    else
      outcome = ('**%s**'):format(run.status)
    end
    if run.text ~= '' then
      vim.list_extend(lines, { '', '---' })
    else
      lines = {}
    end
    vim.list_extend(lines, vim.split(outcome, '\n', { plain = true }))
  elseif not run.ended_at and run.text == '' then
    lines = { '_Waiting for Codex…_' }
  end
  return lines
end

--- The buffer's lines: the answer, then the steps under it; and the owner
--- step of each line.
---@param run codex_ls.Run
---@param expanded table<string, boolean>
---@return string[] lines, table<integer, string> owners
local function content_of(run, expanded)
  local lines = lines_of(run)
  local owners = {}
  local list = run.steps and run.steps.list or {}
  if #list > 0 then
    local step_lines, step_owners = steps.lines(list, expanded)
    lines[#lines + 1] = ''
    local offset = #lines
    vim.list_extend(lines, step_lines)
    for index, id in pairs(step_owners) do
      owners[offset + index] = id
    end
  end
  return lines, owners
end

--- Opens the answer window for a run that is starting.
---@param run codex_ls.Run
---@param actions { cancel: fun() }
---@return codex_ls.AnswerWindow
function M.open(run, actions)
  local opts = options()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'markdown'
  vim.b[buf].codex_ls_token = run.token
  local window = setmetatable(
    { buf = buf, token = run.token, style = opts.style, slot = 0, expanded = {}, owners = {} },
    Window
  )
  M.windows[run.token] = window

  local map = { buffer = buf, nowait = true, silent = true }
  vim.keymap.set('n', opts.close_key, function()
    window:close()
  end, vim.tbl_extend('force', map, { desc = 'Close the Codex answer' }))
  vim.keymap.set('n', opts.cancel_key, actions.cancel, vim.tbl_extend('force', map, { desc = 'Cancel the Codex run' }))
  vim.api.nvim_buf_create_user_command(buf, 'CodexCancel', actions.cancel, { desc = 'Cancel the Codex run' })
  -- The steps are folded by the plugin (not by Vim folds, which a redraw of
  -- the streaming buffer would reset), so the usual fold keys toggle them.
  for _, key in ipairs({ '<CR>', 'za', 'zo', 'zc' }) do
    vim.keymap.set('n', key, function()
      window:toggle_step(vim.api.nvim_win_get_cursor(0)[1])
    end, vim.tbl_extend('force', map, { desc = 'Show or hide the details of a Codex step' }))
  end
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      M.windows[run.token] = nil
    end,
  })

  if opts.style == 'split' then
    local previous = vim.api.nvim_get_current_win()
    window.win = vim.api.nvim_open_win(buf, false, { split = opts.split, win = -1 })
    vim.wo[window.win].wrap = true
    vim.wo[window.win].winbar = title_of(run)
    if vim.api.nvim_win_is_valid(previous) then
      vim.api.nvim_set_current_win(previous)
    end
  else
    window.slot = free_slot()
    window.win = vim.api.nvim_open_win(buf, false, window:float_config(run, 1))
    vim.wo[window.win].wrap = true
  end
  window:update(run)
  return window
end

--- The float's width in columns.
local function float_width()
  local columns = vim.o.columns
  return math.max(20, math.min(size(options().width, columns), columns - 2))
end

--- The float's placement: top right, below the answers already open.
---@param run codex_ls.Run
---@param height integer
function Window:float_config(run, height)
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
    config.title = title_of(run)
    config.title_pos = 'left'
  end
  return config
end

---@return boolean
function Window:is_open()
  return self.win ~= nil and vim.api.nvim_win_is_valid(self.win)
end

--- The buffer's text (what the user reads).
---@return string
function Window:text()
  if not vim.api.nvim_buf_is_valid(self.buf) then
    return ''
  end
  return table.concat(vim.api.nvim_buf_get_lines(self.buf, 0, -1, false), '\n')
end

--- Shows or hides the details of the step on line `lnum`; elsewhere does
--- nothing.
---@param lnum integer
function Window:toggle_step(lnum)
  local id = self.owners[lnum]
  if not id or not self.run then
    return
  end
  self.expanded[id] = not self.expanded[id]
  self:update(self.run)
  -- Back on the step's own line, now that its details came or went.
  for line, owner in pairs(self.owners) do
    if owner == id and (self.owners[line - 1] ~= id) and self:is_open() then
      pcall(vim.api.nvim_win_set_cursor, self.win, { line, 0 })
    end
  end
end

--- Redraws the text and the title from the run.
---@param run codex_ls.Run
function Window:update(run)
  if not vim.api.nvim_buf_is_valid(self.buf) then
    return
  end
  self.run = run
  local lines, owners = content_of(run, self.expanded)
  self.owners = owners
  vim.bo[self.buf].modifiable = true
  vim.api.nvim_buf_set_lines(self.buf, 0, -1, false, lines)
  vim.bo[self.buf].modifiable = false
  vim.bo[self.buf].modified = false
  if not self:is_open() then
    return
  end
  if self.style == 'split' then
    vim.wo[self.win].winbar = title_of(run)
  else
    -- Grow with the text: the height counts wrapped lines.
    local width = float_width()
    local height = 0
    for _, line in ipairs(lines) do
      height = height + math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / width))
    end
    local config = self:float_config(run, height)
    vim.api.nvim_win_set_config(self.win, config)
    if not config.title then
      vim.wo[self.win].winbar = title_of(run)
    end
  end
  -- Follow the end of the answer while it streams, unless the user moved in it.
  if vim.api.nvim_get_current_win() ~= self.win then
    pcall(vim.api.nvim_win_set_cursor, self.win, { #lines, 0 })
  end
end

--- Closes the window (the scratch buffer goes with it). The run goes on.
function Window:close()
  if self:is_open() then
    pcall(vim.api.nvim_win_close, self.win, true)
  end
  if vim.api.nvim_buf_is_valid(self.buf) then
    pcall(vim.api.nvim_buf_delete, self.buf, { force = true })
  end
  M.windows[self.token] = nil
end

return M
