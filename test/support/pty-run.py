"""Runs a command in a pseudo-terminal of a given size and writes every byte it printed to a file.

Usage: python3 pty-run.py COLS ROWS OUTFILE -- CMD ARGS...
Exits with the command's exit code. With PTY_RUN_STDERR=FILE, stderr goes to that file instead
(an operator's `2>run.log` on a terminal). No native Node modules needed: the test drives the real CLI
as an operator's terminal would (stdout and stderr are the terminal, TERM=xterm).
"""
import fcntl
import os
import struct
import subprocess
import sys
import termios

cols, rows, outfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
command = sys.argv[sys.argv.index("--") + 1:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
stderr = open(os.environ["PTY_RUN_STDERR"], "wb") if os.environ.get("PTY_RUN_STDERR") else slave
child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=stderr, env={**os.environ, "TERM": "xterm"}, start_new_session=True)
os.close(slave)
captured = bytearray()
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the terminal's last writer is gone
        break
    if not chunk:
        break
    captured += chunk
os.close(master)
with open(outfile, "wb") as f:
    f.write(captured)
sys.exit(child.wait())
