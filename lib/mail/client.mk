# lib/mail/client.mk: fragment, see HACKING.md
