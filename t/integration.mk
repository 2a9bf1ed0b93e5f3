# t/integration.mk: fragment, see HACKING.md
