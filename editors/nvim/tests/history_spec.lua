-- History, part 1 (README "Conversations"): two questions on src/lib.rs,
-- answered by the real app-server. Part 2 (`history_reopen_spec.lua`) runs
-- in a new Neovim and codex-ls with the same CODEX_HOME.
local H = require('harness')
local data = H.data()

H.test('two questions on a document are answered in its conversation', function()
  H.open('src/lib.rs')
  for index, prompt in ipairs(data.prompts) do
    local window = H.start_answer('CodexAsk ' .. prompt)
    window = H.wait_run_end(window.token, 'completed', 60000)
    H.eq(data.answers[index], window.answer, 'answer ' .. index)
  end
end)
