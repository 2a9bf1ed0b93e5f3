# t/config.mk: fragment, see HACKING.md
