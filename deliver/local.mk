# deliver/local.mk: fragment, see HACKING.md
