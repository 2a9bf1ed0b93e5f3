# lib/mail/smtp.mk: fragment, see HACKING.md
