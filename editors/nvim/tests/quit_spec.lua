-- The user quits Neovim (`:qa!`) while a run is in flight on a buffer with
-- unsaved text. The Rust test then checks that codex-ls exited without a
-- panic and left no process and no snapshot behind.
local H = require('harness')
local data = H.data()

--- The codex-ls process Neovim started.
local function codex_ls_pid()
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    local proc = vim.api.nvim_get_proc(pid)
    if proc and proc.name == 'codex-ls' then
      return pid
    end
  end
end

H.test('a run is in flight on unsaved text when the user quits', function()
  local bufnr = H.open('src/lib.rs')
  vim.api.nvim_buf_set_lines(bufnr, 0, 1, false, { '// an edit the user has not saved' })
  H.truthy(vim.bo[bufnr].modified, 'the buffer has unsaved changes')
  local window = H.start_answer('CodexAsk ' .. data.prompt, { 2, 3 })
  H.wait('the first words of the hung answer', function()
    local current = H.answer_window(window.token)
    return current and current.answer == data.partial
  end)
  local pid = H.truthy(codex_ls_pid(), 'the codex-ls process')
  H.log(('codex-ls pid: %d'):format(pid))
  H.quit_command = 'qall!'
end)
