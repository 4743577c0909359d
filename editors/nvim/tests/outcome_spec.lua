-- Rewrites and reviews, which open no window, show their progress in the
-- command line and end with a one-line outcome: on a narrow screen with
-- 'cmdheight' 1, a message of several lines or wider than the screen stops
-- the user with "Press ENTER", and an error in the progress handling shows
-- as "Error detected while processing LspProgress Autocommands".
local H = require('harness')
local data = H.data()
local ended = H.record_run_ends()

vim.o.columns = 60
vim.o.cmdheight = 1

--- The command-line echoes without history (progress), recorded.
local echoed = {}
local echo = vim.api.nvim_echo
vim.api.nvim_echo = function(chunks, history, opts)
  if not history then
    local text = ''
    for _, chunk in ipairs(chunks) do
      text = text .. chunk[1]
    end
    echoed[#echoed + 1] = text
  end
  return echo(chunks, history, opts)
end

--- `:messages` as lines.
local function messages()
  return vim.split(vim.fn.execute('messages'), '\n', { plain = true, trimempty = true })
end

--- Every line of `:messages` fits the command line and none is an error;
--- returns the lines that start with `codex-ls:`.
local function check_messages()
  local ours = {}
  for _, line in ipairs(messages()) do
    H.truthy(not line:find('Error detected', 1, true), 'an error in :messages: ' .. table.concat(messages(), '\n'))
    -- A line of a message that does not fit is what stops the user.
    H.truthy(
      vim.fn.strdisplaywidth(line) <= vim.v.echospace,
      ('a message line wider than the command line (%d): %s'):format(vim.v.echospace, line)
    )
    if vim.startswith(line, 'codex-ls:') then
      ours[#ours + 1] = line
    end
  end
  return ours
end

--- The lines of `:messages` about `title`.
local function outcome(title)
  return vim.tbl_filter(function(line)
    return line:find(title, 1, true) ~= nil
  end, check_messages())
end

H.test('a rewrite shows its step while it runs and ends with one line that fits', function()
  local bufnr = H.open('src/lib.rs')
  vim.cmd.messages('clear')
  H.select_lines(2, 4)
  H.type(':CodexRewrite<CR>')
  local result = H.wait('the rewrite to end', function()
    return ended[1]
  end, 60000)
  H.eq('completed', result.status, 'status ' .. vim.inspect(result.error))
  H.eq(data.replacement, table.concat(vim.api.nvim_buf_get_lines(bufnr, 1, 4, false), '\n') .. '\n', 'applied')
  local steps = vim.tbl_filter(function(text)
    return text:find('Codex: Rewrite', 1, true) ~= nil
  end, echoed)
  H.truthy(#steps > 0, 'the current step was shown while it ran: ' .. vim.inspect(echoed))
  for _, text in ipairs(steps) do
    H.truthy(vim.fn.strdisplaywidth(text) <= vim.v.echospace, 'the step fits: ' .. text)
  end
  H.wait('the outcome message', function()
    return #outcome('Codex: Rewrite') > 0
  end, 5000)
  local lines = outcome('Codex: Rewrite')
  H.eq(1, #lines, 'one line of outcome: ' .. vim.inspect(lines))
  H.truthy(lines[1]:find('edit applied', 1, true), 'the outcome: ' .. lines[1])
  H.truthy(vim.fn.strdisplaywidth(lines[1]) <= vim.v.echospace, 'it fits the command line: ' .. lines[1])
  H.truthy(vim.startswith(data.explanation, 'A long explanation'), 'the explanation is longer than the screen')
  H.type('u')
  H.wait('the buffer back to the file', function()
    return not vim.bo[bufnr].modified
  end, 5000)
end)

H.test('a review ends with one line that fits', function()
  H.open('src/lib.rs')
  H.type(':CodexReview<CR>')
  local result = H.wait('the review to end', function()
    return ended[2]
  end, 60000)
  H.eq('completed', result.status, 'status ' .. vim.inspect(result.error))
  H.wait('the outcome message', function()
    return #outcome('Codex: Review') > 0
  end, 5000)
  local lines = outcome('Codex: Review')
  H.eq(1, #lines, 'one line of outcome: ' .. vim.inspect(lines))
  H.truthy(lines[1]:find('1 finding', 1, true), 'the outcome: ' .. lines[1])
end)
