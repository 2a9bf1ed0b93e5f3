# t/queue.mk: fragment, see HACKING.md
