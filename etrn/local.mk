# etrn/local.mk: fragment, see HACKING.md
