-- Code actions chosen through `vim.lsp.buf.code_action()` stream into the
-- plugin's answer window while the run goes on (not only at the end, as a
-- file), and so does a run started without a progressToken, on the token
-- the server creates.
local H = require('harness')
local data = H.data()

--- Chooses `title` when `vim.lsp.buf.code_action()` asks, as a user would in
--- the selection UI; returns the titles offered, once asked.
local function choose_code_action(title)
  local offered
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    vim.ui.select = select
    offered = {}
    for index, item in ipairs(items) do
      local action = item.action or item
      offered[#offered + 1] = action.title
      if action.title == title then
        on_choice(item, index)
        return
      end
    end
    on_choice(nil)
  end
  return function()
    return offered
  end
end

--- Waits for a new answer window and for a part of the answer in it while
--- the run still goes on; returns the window.
local function wait_streaming(before)
  local window = H.wait('a new answer window', function()
    for _, window in ipairs(H.answer_windows()) do
      if not before[window.token] then
        return window
      end
    end
  end)
  H.wait('part of the answer before the run ends', function()
    local run = require('codex_ls.commands').runs[window.token]
    local text = H.answer_window(window.token).answer
    if run.ended_at then
      error('the run ended before any of the answer was shown: ' .. text)
    end
    return text ~= '' and data.answer:sub(1, #text) == text and #text < #data.answer
  end, 60000)
  return window
end

--- The windows showing an answer file (what Neovim opens for
--- `window/showDocument`).
local function answer_file_windows()
  local found = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local name = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win))
    if name:find('codex-ls/answers/', 1, true) then
      found[#found + 1] = name
    end
  end
  return found
end

H.test('"Codex: Explain selection" from vim.lsp.buf.code_action() streams into the answer window', function()
  local bufnr = H.open('src/lib.rs')
  local offered = choose_code_action('Codex: Explain selection')
  H.select_lines(2, 3)
  vim.lsp.buf.code_action()
  local window = wait_streaming({})
  H.truthy(vim.list_contains(offered(), 'Codex: Explain selection'), 'offered: ' .. vim.inspect(offered()))
  H.truthy(window.token:find('^codex_ls%.nvim/'), 'the run has a token of the plugin: ' .. window.token)
  H.type('<Esc>')
  window = H.wait_run_end(window.token, 'completed', 60000)
  H.eq(data.answer, window.answer, 'the whole answer')
  H.truthy(window.title:find('Codex: Explain', 1, true), 'title: ' .. window.title)
  H.eq({}, answer_file_windows(), 'no answer file was opened')
  H.eq(bufnr, vim.api.nvim_get_current_buf(), 'the cursor stays in the source buffer')
  window = H.answer_window(window.token)
  vim.api.nvim_win_close(window.win, true)
end)

H.test('a run started without a progressToken streams on the token the server created', function()
  local bufnr = H.open('src/lib.rs')
  local client = require('codex_ls').client(bufnr)
  local answered
  client:request('workspace/executeCommand', {
    command = 'codex.explain',
    arguments = { { textDocument = { uri = vim.uri_from_bufnr(bufnr) } } },
  }, function(err, result)
    answered = { err = err, result = result }
  end, bufnr)
  local window = wait_streaming({})
  H.truthy(window.token:find('^codex%-ls/run/'), 'a token of the server: ' .. window.token)
  H.eq(nil, answered and answered.err, 'the command was taken')
  window = H.wait_run_end(window.token, 'completed', 60000)
  H.eq(data.answer, window.answer, 'the whole answer')
  vim.api.nvim_win_close(window.win, true)
end)
