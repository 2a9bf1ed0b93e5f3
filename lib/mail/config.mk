# lib/mail/config.mk: fragment, see HACKING.md
