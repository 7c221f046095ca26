"""Code that runs inside the sandbox (or as its PID 1 supervisor). Stdlib only: this folder is
bind-mounted read-only into every sandbox at /opt/million-sandbox."""
