# t/smtp.mk: fragment, see HACKING.md
