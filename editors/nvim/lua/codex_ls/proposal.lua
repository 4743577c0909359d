--- The review of an edit proposal: an edit run with `preview` (or the
--- `editPreview` setting) ends with `edit.status: "proposed"` and nothing
--- applied. The plugin opens a diff view in a new tab, the selected text
--- (`Current`) on the left and the replacement (`Proposed`) on the right,
--- both with `:diffthis`, so `]c` and `[c` move between the changes. Its
--- keys: `A` accepts all (`codex.applyProposal { runId }`), `a` accepts
--- the hunk under the cursor (`hunks = { index }`), `r` or `q` rejects
--- (`codex.discardProposal`); closing the view rejects too. The server
--- applies what is accepted as one undoable edit, and refuses when the
--- selected text changed since; the view then stays, and says why.
---
--- The view takes the focus when a run ends, maybe while the user types:
--- like the approval window, it drops the typeahead before it opens and
--- ignores keys for its first `arm_ms`, so nothing typed for the buffer
--- accepts a proposal.
local protocol = require('codex_ls.protocol')

local M = {}

--- How long the view ignores its keys after it opened (ms).
M.arm_ms = 300

--- The view's keys.
M.keys = { accept_all = 'A', accept_hunk = 'a', reject = 'r', close = 'q' }

--- What the view's keys do; `commands.lua` sends the server's commands.
---@class codex_ls.ProposalActions
---@field apply fun(hunks: integer[]?, done: fun(err: lsp.ResponseError?, result: codex_ls.ApplyProposalResult?))
---@field discard fun()
---@field notify fun(message: string, level?: integer)

---@class codex_ls.ProposalView
---@field run_id integer
---@field edit codex_ls.Edit
---@field spans codex_ls.HunkSpan[]
---@field current integer the buffer of the selected text
---@field proposed integer the buffer of the replacement
---@field tab integer
---@field opened_at number `vim.uv.hrtime()`
---@field ignored integer keys ignored because they came too early
---@field busy boolean an apply is on its way
---@field decided boolean accepted or rejected: the view is closing
---@field actions codex_ls.ProposalActions
local View = {}
View.__index = View

--- Open views by run id.
---@type table<integer, codex_ls.ProposalView>
M.views = {}

--- Drops the keys waiting in the typeahead: they were typed for something
--- else, before the view was on screen.
local function flush_typeahead()
  while vim.fn.getchar(0) ~= 0 do
  end
end

--- The byte column of an LSP `character` on `text`.
---@param text string
---@param character integer
---@param encoding string
local function byte_col(text, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #text)
  end
  -- Neovim 0.11 takes the encoding by name; 0.10 a `use_utf16` flag.
  local ok, col = pcall(vim.str_byteindex, text, encoding, character, false)
  if not ok then
    ok, col = pcall(vim.str_byteindex, text, character, encoding == 'utf-16')
  end
  return ok and col or #text
end

--- The text of `range` in the buffer, as lines (a range that ends at the
--- start of a line ends with the line before it).
---@param bufnr integer
---@param range lsp.Range
---@param encoding string
---@return string[]
function M.range_lines(bufnr, range, encoding)
  local count = vim.api.nvim_buf_line_count(bufnr)
  local function position(pos)
    if pos.line >= count then
      local last = vim.api.nvim_buf_get_lines(bufnr, count - 1, count, false)[1] or ''
      return count - 1, #last
    end
    local text = vim.api.nvim_buf_get_lines(bufnr, pos.line, pos.line + 1, false)[1] or ''
    return pos.line, byte_col(text, pos.character, encoding)
  end
  local start_row, start_col = position(range.start)
  local end_row, end_col = position(range['end'])
  local lines = vim.api.nvim_buf_get_text(bufnr, start_row, start_col, end_row, end_col, {})
  if #lines > 1 and lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

--- The replacement as lines (its final line break ends the last line).
---@param text string
---@return string[]
local function text_lines(text)
  local lines = vim.split(text or '', '\n', { plain = true })
  if #lines > 1 and lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

local function scratch(name, lines, filetype)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  if filetype and filetype ~= '' then
    vim.bo[buf].filetype = filetype
  end
  pcall(vim.api.nvim_buf_set_name, buf, name)
  return buf
end

--- Opens the diff view of a proposal and takes the focus.
---@param run_id integer
---@param edit codex_ls.Edit
---@param source { bufnr: integer, encoding: string }
---@param actions codex_ls.ProposalActions
---@return codex_ls.ProposalView
function M.open(run_id, edit, source, actions)
  local existing = M.views[run_id]
  if existing then
    return existing
  end
  flush_typeahead()
  local filetype = vim.bo[source.bufnr].filetype
  local first = edit.range.start.line + 1
  local prefix = ('codex-ls://proposal/%d/'):format(run_id)
  local current = scratch(prefix .. 'current', M.range_lines(source.bufnr, edit.range, source.encoding), filetype)
  local proposed = scratch(prefix .. 'proposed', text_lines(edit.replacement), filetype)
  vim.cmd(('tab sbuffer %d'):format(current))
  local left = vim.api.nvim_get_current_win()
  vim.cmd(('rightbelow vertical sbuffer %d'):format(proposed))
  local right = vim.api.nvim_get_current_win()
  for _, win in ipairs({ left, right }) do
    vim.api.nvim_win_call(win, function()
      vim.cmd('diffthis')
    end)
    vim.wo[win].foldenable = false
  end
  vim.wo[left].winbar = (' Current (from line %d) '):format(first)
  vim.wo[right].winbar = (' Proposed · %s accept all · %s accept hunk · %s reject '):format(
    M.keys.accept_all,
    M.keys.accept_hunk,
    M.keys.reject
  )
  local view = setmetatable({
    run_id = run_id,
    edit = edit,
    spans = protocol.hunk_spans(edit),
    current = current,
    proposed = proposed,
    tab = vim.api.nvim_get_current_tabpage(),
    opened_at = vim.uv.hrtime(),
    ignored = 0,
    busy = false,
    decided = false,
    actions = actions,
  }, View)
  M.views[run_id] = view
  view:map_keys()
  return view
end

--- Whether the view takes keys yet.
---@return boolean
function View:armed()
  return (vim.uv.hrtime() - self.opened_at) / 1e6 >= M.arm_ms
end

--- A key handler that does nothing while the view is not armed, or closing.
---@param fn fun()
function View:guarded(fn)
  return function()
    if self.decided or self.busy then
      return
    end
    if not self:armed() then
      self.ignored = self.ignored + 1
      return
    end
    fn()
  end
end

function View:map_keys()
  for _, buf in ipairs({ self.current, self.proposed }) do
    local map = { buffer = buf, nowait = true, silent = true }
    local function key(lhs, fn, desc)
      vim.keymap.set('n', lhs, self:guarded(fn), vim.tbl_extend('force', map, { desc = desc }))
    end
    key(M.keys.accept_all, function()
      self:accept(nil)
    end, 'Accept the whole Codex proposal')
    key(M.keys.accept_hunk, function()
      self:accept_hunk_under_cursor(buf)
    end, 'Accept the hunk of the Codex proposal under the cursor')
    key(M.keys.reject, function()
      self:reject()
    end, 'Reject the Codex proposal')
    key(M.keys.close, function()
      self:reject()
    end, 'Reject the Codex proposal')
    -- Closing the view any other way (`:q`, `:tabclose`) rejects too:
    -- nothing is applied that was not accepted.
    vim.api.nvim_create_autocmd('BufWipeout', {
      buffer = buf,
      once = true,
      callback = function()
        -- After the close that wiped it is over: closing the other side
        -- inside it would fail (E444).
        vim.schedule(function()
          if not self.decided then
            self:reject()
          end
        end)
      end,
    })
  end
end

--- Accepts the hunk under the cursor, in either side of the diff.
---@param buf integer
function View:accept_hunk_under_cursor(buf)
  local side = buf == self.current and 'old' or 'new'
  local index = protocol.hunk_at(self.spans, side, vim.api.nvim_win_get_cursor(0)[1])
  if not index then
    self.actions.notify('no change of the proposal under the cursor (]c goes to the next one)', vim.log.levels.WARN)
    return
  end
  self:accept({ index })
end

--- Asks the server to apply all the proposal, or the listed hunks; the view
--- closes once applied, and stays (with the reason told) when refused.
---@param hunks? integer[]
function View:accept(hunks)
  self.busy = true
  self.actions.apply(hunks, function(err, result)
    self.busy = false
    if err then
      self.actions.notify('the proposal was not applied: ' .. (err.message or ''), vim.log.levels.ERROR)
    elseif type(result) == 'table' and result.applied then
      self.decided = true
      self:close()
      self.actions.notify(hunks and 'the change was applied' or 'the proposal was applied')
    else
      local reason = type(result) == 'table' and result.reason or nil
      self.actions.notify('the proposal was not applied' .. (reason and (': ' .. reason) or ''), vim.log.levels.WARN)
    end
  end)
end

--- Drops the proposal and closes the view.
function View:reject()
  if self.decided then
    return
  end
  self.decided = true
  self.actions.discard()
  self:close()
end

--- Closes both sides (their buffers are wiped with them).
function View:close()
  M.views[self.run_id] = nil
  for _, buf in ipairs({ self.current, self.proposed }) do
    if vim.api.nvim_buf_is_valid(buf) then
      pcall(vim.api.nvim_buf_delete, buf, { force = true })
    end
  end
end

return M
