# t/dsn.mk: fragment, see HACKING.md
