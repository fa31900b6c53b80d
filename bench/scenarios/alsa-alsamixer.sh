# alsa-alsamixer: alsamixer (ncurses, under tmux) on Outboard's control node:
# its screen shows the card and the PCM control; two presses of Down lower
# PCM, as amixer then reads back.
DESCRIPTION="ALSA: alsamixer under tmux shows the controls and a key press changes a level"
hda_scenario

guest() {
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/controlC0 || return 1
  amixer -c 0 cget name='PCM Playback Volume' | tee "$RESULTS/before.txt"
  export TERM=xterm
  tmux new-session -d -s mix -x 100 -y 30 "alsamixer -c 0"
  shown() { tmux capture-pane -p -t mix >"$RESULTS/screen.txt" 2>/dev/null && grep -q "PCM" "$RESULTS/screen.txt"; }
  wait_until 20 "alsamixer to draw its controls" shown || { cat "$RESULTS/screen.txt"; return 1; }
  tmux send-keys -t mix Down Down
  lowered() { amixer -c 0 cget name='PCM Playback Volume' | grep -q ': values=25[0-4]$'; }
  wait_until 10 "PCM to go down" lowered || { amixer -c 0 cget name='PCM Playback Volume'; tmux capture-pane -p -t mix; return 1; }
  tmux capture-pane -p -t mix >"$RESULTS/screen-after.txt"
  amixer -c 0 cget name='PCM Playback Volume' | tee "$RESULTS/after.txt"
  tmux send-keys -t mix Escape
  wait_until 10 "alsamixer to exit" not tmux has-session -t mix 2>/dev/null || tmux kill-server
  stop_serve
}

check() {
  expect 'Card: Outboard' "$RESULTS/screen.txt"
  expect 'PCM' "$RESULTS/screen.txt"
  expect ': values=255$' "$RESULTS/before.txt"
  expect ': values=25[0-4]$' "$RESULTS/after.txt"
}
