# Asks zsh's real completion system what it offers: runs an interactive zsh in a pseudo-terminal
# (zpty), loads compinit and the script under test, types each command line followed by TAB,
# and prints what the completion functions handed to compadd — one line per candidate, each
# command line's candidates followed by a line "--".
#   zsh -f zsh-complete.zsh SCRIPT 'keyholder lo' 'keyholder locks re' …
zmodload zsh/zpty
script=$1; shift
out=$(mktemp)
zpty z zsh -f -i
zpty -w z "autoload -Uz compinit && compinit -u -D"
zpty -w z "source ${(q)script}"
# a compadd that also writes the matches it adds (those that fit what is typed)
zpty -w z "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a __hits; builtin compadd -O __hits \"\$@\"; (( \$#__hits )) && print -rl -- \$__hits >> ${(q)out}; builtin compadd \"\$@\"; }"
# a completer that marks the end of each completion
zpty -w z "_marked() { _complete; local r=\$?; print -r -- '--' >> ${(q)out}; return \$r; }; zstyle ':completion:*' completer _marked"
zpty -w z "bindkey '^I' complete-word; bindkey '^U' kill-whole-line"
expected=0
for line in "$@"; do
  zpty -w -n z "$line"$'\t'
  (( expected++ ))
  for i in {1..400}; do
    (( $(grep -cx -- -- $out) >= expected )) && break
    sleep 0.05
  done
  zpty -w -n z $'\C-u'
done
zpty -d z
cat $out
rm -f $out
