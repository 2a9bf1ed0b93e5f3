# t/index.mk: fragment, see HACKING.md
