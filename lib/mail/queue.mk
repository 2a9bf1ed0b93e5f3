# lib/mail/queue.mk: fragment, see HACKING.md
