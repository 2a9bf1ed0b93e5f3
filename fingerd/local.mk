# fingerd/local.mk: fragment, see HACKING.md
