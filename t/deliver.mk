# t/deliver.mk: fragment, see HACKING.md
