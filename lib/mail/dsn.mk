# lib/mail/dsn.mk: fragment, see HACKING.md
