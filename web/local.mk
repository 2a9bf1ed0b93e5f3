# web/local.mk: fragment, see HACKING.md
