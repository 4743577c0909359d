-- Typed approvals (README "Approvals"): the client declares
-- `capabilities.experimental.codex.approvals`, and `codex/requestApproval`
-- is answered in the confirm window (typeahead dropped, keys ignored for
-- 300 ms, only its own keys answer), with `v` showing the diffs of a file
-- change in a `diff` buffer before the user decides. The request is run as
-- Neovim runs a server request: the client's handler, in a coroutine.
local H = require('harness')

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

--- Sends `params` to the client's handler of `method` as the server would,
--- with `1<CR>` typed just as it arrives; returns a function that gives the
--- answer once there is one.
local function server_request(client, method, params)
  local answer
  local co = coroutine.create(function()
    answer = { client.handlers[method](nil, params, { client_id = client.id, method = method }) }
  end)
  vim.api.nvim_feedkeys('1\r', 't', false)
  assert(coroutine.resume(co))
  return function()
    return answer
  end
end

--- Waits until the confirm window is up and armed.
local function wait_armed()
  return H.wait('the armed confirm window', function()
    local window = confirm_window()
    return window and window.state.armed and window
  end)
end

local diff = table.concat({
  '--- a/src/lib.rs',
  '+++ b/src/lib.rs',
  '@@ -2,3 +2,3 @@',
  ' fn add(a: i32, b: i32) -> i32 {',
  '-    a + b',
  '+    a.wrapping_add(b)',
  ' }',
  '',
}, '\n')

H.test('the client declares typed approvals', function()
  local client = require('codex_ls').client(H.open('src/lib.rs'))
  H.eq(true, vim.tbl_get(client.capabilities, 'experimental', 'codex', 'approvals'), 'capability')
  H.truthy(client.handlers['codex/requestApproval'], 'a handler for the request')
end)

H.test('a file change shows its diff on `v`, and `a` accepts', function()
  local bufnr = H.open('src/lib.rs')
  local client = require('codex_ls').client(bufnr)
  local before = H.text(bufnr)
  local answer = server_request(client, 'codex/requestApproval', {
    runId = 7,
    kind = 'fileChange',
    title = 'Codex wants to change files',
    reason = 'Make the addition wrap',
    changes = { { path = 'src/lib.rs', kind = 'update', diff = diff } },
    decisions = { 'accept', 'acceptForSession', 'decline' },
  })
  local confirm = wait_armed()
  H.eq(nil, answer(), 'the typed-ahead keys did not answer it')
  H.eq(before, H.text(bufnr), 'nor reached the buffer')
  H.truthy(confirm.text:find('update src/lib.rs (+1 -1)', 1, true), 'the file and its size: ' .. confirm.text)
  H.truthy(confirm.text:find('Reason: Make the addition wrap', 1, true), 'the reason: ' .. confirm.text)
  H.truthy(confirm.text:find('[v] View diff', 1, true), 'the diff key: ' .. confirm.text)

  H.type('v')
  local shown = H.wait('the diff view', function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.b[buf].codex_ls_approval_diff and buf
  end)
  H.eq('diff', vim.bo[shown].filetype, 'diff filetype')
  local expected = vim.split(diff, '\n', { plain = true, trimempty = true })
  H.eq(expected, vim.api.nvim_buf_get_lines(shown, 0, -1, false), 'the diff')
  H.eq(nil, answer(), 'looking decides nothing')
  H.type('q')
  H.wait('back in the confirm window', function()
    return vim.api.nvim_get_current_win() == confirm.win
  end)
  H.eq(nil, answer(), '`q` in the diff view closes only the view')
  H.type('a')
  local result = H.wait('the answer', answer)
  H.eq({ { decision = 'accept' } }, result, 'accepted')
  H.eq(nil, confirm_window(), 'the window closed')
end)

H.test('<Esc> declines a command, and only the offered decisions have keys', function()
  local client = require('codex_ls').client(H.open('src/lib.rs'))
  local answer = server_request(client, 'codex/requestApproval', {
    runId = 8,
    kind = 'command',
    title = 'Codex wants to run a command',
    command = 'rm -rf build',
    cwd = '/work',
    decisions = { 'accept', 'decline' },
  })
  local confirm = wait_armed()
  H.truthy(confirm.text:find('$ rm -rf build', 1, true), 'the command: ' .. confirm.text)
  H.truthy(confirm.text:find('in /work', 1, true), 'its cwd: ' .. confirm.text)
  H.truthy(not confirm.text:find('[s]', 1, true), 'no session key when not offered: ' .. confirm.text)
  H.truthy(not confirm.text:find('View diff', 1, true), 'no diff key without changes')
  H.type('s')
  H.type('<Esc>')
  local result = H.wait('the answer', answer)
  H.eq({ { decision = 'decline' } }, result, 'declined')
end)

H.test('a showMessageRequest is answered in the confirm window whatever its message says', function()
  local client = require('codex_ls').client(H.open('src/lib.rs'))
  local accept = { title = 'Accept' }
  local answer = server_request(client, 'window/showMessageRequest', {
    type = 2,
    message = 'Some other question',
    actions = { accept, { title = 'Decline' } },
  })
  local confirm = wait_armed()
  H.truthy(confirm.text:find('^Some other question'), 'window: ' .. confirm.text)
  H.type('a')
  local result = H.wait('the answer', answer)
  H.eq({ accept }, result, 'the action chosen')
end)
