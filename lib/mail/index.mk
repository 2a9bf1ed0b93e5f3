# lib/mail/index.mk: fragment, see HACKING.md
