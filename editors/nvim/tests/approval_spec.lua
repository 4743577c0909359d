-- Approvals arrive as the typed `codex/requestApproval` (the client
-- declares `capabilities.experimental.codex.approvals`) and are answered in
-- a confirm window of the plugin's own: keys the user was typing when the
-- request came in (here `1<CR>`, queued in Insert mode as the request
-- arrives) must not answer it; only the window's own keys do, once it is on
-- screen.
local H = require('harness')
local approvals = require('codex_ls.approvals')
local data = H.data()

-- Keys "typed" just as each request arrives, queued before the prompt opens.
local asked = {}
local original = approvals.request_approval
approvals.request_approval = function(err, params)
  asked[#asked + 1] = { kind = params.kind, command = params.command, mode = vim.fn.mode() }
  vim.api.nvim_feedkeys('1\r', 't', false)
  return original(err, params)
end

--- The open confirm window: { win, buf, text, state }.
local function confirm_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local buf = vim.api.nvim_win_get_buf(win)
    local state = vim.b[buf].codex_ls_approval
    if state then
      return { win = win, buf = buf, text = H.text(buf), state = state }
    end
  end
end

--- Starts `:CodexAsk prompt` from Insert mode (`<C-o>`), so the user is
--- typing when the approval arrives; returns the run's token.
local function ask_from_insert_mode(prompt)
  local before = {}
  for _, window in ipairs(H.answer_windows()) do
    before[window.token] = true
  end
  H.type('A')
  H.wait('Insert mode', function()
    return vim.fn.mode() == 'i'
  end)
  H.type('<C-o>:CodexAsk ' .. prompt .. '<CR>')
  local window = H.wait('a new answer window', function()
    for _, window in ipairs(H.answer_windows()) do
      if not before[window.token] then
        return window
      end
    end
  end)
  return window.token
end

--- Waits for the confirm window of the run `token`; fails at once when the
--- run ended first (something else answered the approval).
local function wait_confirm(token)
  local confirm = H.wait('the confirm window', function()
    local run = require('codex_ls.commands').runs[token]
    if run and run.ended_at then
      error('the run ended before the prompt was answered: ' .. H.answer_window(token).text)
    end
    return confirm_window()
  end)
  H.eq(vim.api.nvim_get_current_win(), confirm.win, 'the confirm window has the focus')
  -- Insert mode ends once the handler returns to the main loop.
  H.wait('Normal mode in the confirm window: keys there are keys, not text', function()
    return vim.fn.mode() == 'n' and vim.api.nvim_get_current_win() == confirm.win
  end)
  -- The keys typed as it opened were dropped: it is still waiting, armed
  -- only now.
  H.wait('the confirm window to take keys', function()
    local window = confirm_window()
    return window and window.state.armed
  end)
  H.truthy(confirm_window(), 'the typed keys left the prompt open')
  H.truthy(not require('codex_ls.commands').runs[token].ended_at, 'the run waits for the answer')
  return confirm
end

H.test('keys typed as the approval opens do not answer it; `a` accepts', function()
  local buf = H.open('src/lib.rs')
  local lines_before = H.text(buf)
  local token = ask_from_insert_mode('Run the check')
  local confirm = wait_confirm(token)
  H.eq('i', asked[1].mode, 'the user was in Insert mode as the request arrived')
  H.eq('command', asked[1].kind, 'a typed command approval')
  H.truthy((asked[1].command or ''):find(data.command_accepted, 1, true), 'its command: ' .. tostring(asked[1].command))
  H.truthy(confirm.text:find('^Codex wants to run a command'), 'window: ' .. confirm.text)
  H.truthy(confirm.text:find(data.command_accepted, 1, true), 'the window holds the whole command: ' .. confirm.text)
  H.truthy(confirm.text:find(data.justification, 1, true), 'the window holds the reason')
  H.truthy(confirm.text:find('[a] Accept', 1, true), 'Accept offered: ' .. confirm.text)
  H.truthy(confirm.text:find('[d] Decline', 1, true), 'Decline offered: ' .. confirm.text)
  H.eq(lines_before, H.text(buf), 'the dropped keys did not reach the buffer either')
  H.type('a')
  local window = H.wait_run_end(token, 'completed', 60000)
  H.eq(nil, confirm_window(), 'the confirm window closed')
  H.eq(data.answer_after_accept, window.answer, 'answer after the command ran')
  H.wait('Insert mode again after the answer', function()
    return vim.fn.mode() == 'i'
  end)
  H.type('<Esc>')
  H.wait('Normal mode', function()
    return vim.fn.mode() == 'n'
  end)
end)

H.test('an approval dismissed with <Esc> is declined', function()
  local token = ask_from_insert_mode('Run the check again')
  local confirm = wait_confirm(token)
  H.eq(2, #asked, 'approval requests')
  H.truthy(confirm.text:find(data.command_declined, 1, true), 'window: ' .. confirm.text)
  H.type('<Esc>')
  local window = H.wait_run_end(token, 'completed', 60000)
  H.eq(nil, confirm_window(), 'the confirm window closed')
  H.eq(data.answer_after_decline, window.answer, 'answer after the decline')
end)

H.test('a cancelled run withdraws its unanswered approval', function()
  local token = ask_from_insert_mode('Run the third check')
  local confirm = wait_confirm(token)
  H.truthy(confirm.text:find(data.command_cancelled, 1, true), 'window: ' .. confirm.text)
  -- What <C-c> in the answer window does.
  require('codex_ls.commands').cancel_token(token)
  H.wait('the confirm window to close', function()
    return confirm_window() == nil
  end)
  local run = require('codex_ls.commands').runs[token]
  H.truthy(run.ended_at, 'the run ended')
  H.truthy(run.status ~= 'completed', 'the cancelled run did not complete: ' .. tostring(run.status))
  H.wait('Insert mode again after the withdrawal', function()
    return vim.fn.mode() == 'i'
  end)
end)
