# prober/local.mk: fragment, see HACKING.md
