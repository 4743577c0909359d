-- A command the agent runs, against the real app-server (which runs
-- `echo <marker>` in its sandbox for the mock model): the answer window
-- shows it as a folded step under the answer while the answer streams, with
-- its exit code, and <CR> on the step shows its output.
local H = require('harness')
local data = H.data()

--- The line of the window's text equal to `wanted`, and its number.
local function line_of(text, wanted)
  for index, line in ipairs(vim.split(text, '\n', { plain = true })) do
    if line == wanted then
      return index
    end
  end
end

H.test('a command step folds under the streaming answer, and <CR> shows its output', function()
  H.open('src/lib.rs')
  local window = H.start_answer('CodexAsk Run the echo')
  local headline = '▸ Ran `' .. data.command .. '` (exit 0)'
  H.wait('the command step under part of the answer, while the run goes on', function()
    local run = require('codex_ls.commands').runs[window.token]
    local current = H.answer_window(window.token)
    local text = current.text
    if run.ended_at then
      error('the run ended before the step and the answer were shown together: ' .. text)
    end
    local answer_part = current.answer
    return line_of(text, headline)
      and answer_part
      and answer_part ~= ''
      and data.answer:sub(1, #answer_part) == answer_part
  end, 60000)

  window = H.wait_run_end(window.token, 'completed', 60000)
  -- The question, then the answer, a blank line, then one folded line per
  -- step (codex's start-up notices are steps too).
  H.eq(data.answer, window.answer, 'the answer under the question: ' .. window.text)
  local step_line = H.truthy(line_of(window.text, headline), 'the step, folded: ' .. window.text)
  local answer_lines = #vim.split(data.answer, '\n')
  local under = vim.list_slice(vim.split(window.text, '\n', { plain = true }), window.first + answer_lines + 1)
  for _, line in ipairs(under) do
    H.truthy(vim.startswith(line, '▸ '), 'only folded steps under the answer: ' .. window.text)
  end
  H.truthy(not line_of(window.text, '  ' .. data.marker), 'the output is hidden while folded: ' .. window.text)

  vim.api.nvim_set_current_win(window.win)
  vim.api.nvim_win_set_cursor(window.win, { step_line, 0 })
  H.type('<CR>')
  local expanded = H.wait('the step expanded', function()
    local text = H.answer_window(window.token).text
    return line_of(text, '▾ Ran `' .. data.command .. '` (exit 0)') and text
  end)
  local first = line_of(expanded, '▾ Ran `' .. data.command .. '` (exit 0)')
  local details = vim.list_slice(vim.split(expanded, '\n', { plain = true }), first + 1)
  H.truthy(vim.startswith(details[1] or '', '  $ ' .. data.command), 'the command and its cwd: ' .. expanded)
  H.truthy(vim.list_contains(details, '  ' .. data.marker), 'its output: ' .. expanded)

  H.type('<CR>')
  H.wait('the step folded again', function()
    return H.answer_window(window.token).text == window.text
  end)
  vim.api.nvim_win_close(window.win, true)
end)
