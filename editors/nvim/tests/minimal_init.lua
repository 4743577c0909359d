-- The init file of the headless spec runs (`nvim --headless --clean -u
-- minimal_init.lua`): puts the plugin on 'runtimepath', starts codex-ls the
-- way a user would, then runs the spec named by $CODEX_LS_SPEC once Neovim
-- has started. Filetype detection stays on (unlike `-u NONE`):
-- `vim.lsp.enable` starts clients on the FileType event.
local tests = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local plugin = vim.fs.dirname(tests)
vim.opt.runtimepath:prepend(plugin)
package.path = tests .. '/?.lua;' .. package.path

vim.o.swapfile = false
vim.lsp.set_log_level(vim.lsp.log_levels.WARN)

local H = require('harness')
local settings = vim.json.decode(H.env('CODEX_LS_SPEC_SETTINGS'))
local cmd = { H.env('CODEX_LS_BIN') }

-- How the spec starts the client: `enable` is the Neovim 0.11 way
-- (lsp/codex_ls.lua + vim.lsp.config + vim.lsp.enable); `setup` goes through
-- require('codex_ls').setup(); `start` forces setup()'s Neovim 0.10 path
-- (vim.lsp.start) on a newer Neovim.
local how = os.getenv('CODEX_LS_SPEC_START') or 'enable'
if how == 'enable' and vim.fn.has('nvim-0.11') == 1 then
  vim.lsp.config('codex_ls', { cmd = cmd, settings = { codex = settings } })
  vim.lsp.enable('codex_ls')
else
  if how == 'start' then
    require('codex_ls').has_011 = false
  end
  require('codex_ls').setup({ cmd = cmd, settings = settings })
end

-- A spec that hangs is stopped with an exit code of its own.
vim.defer_fn(function()
  H.log('spec timed out after 150 s')
  vim.cmd('cquit 3')
end, 150000)

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      dofile(H.env('CODEX_LS_SPEC'))
      H.run()
    end)
  end,
})
