# t/unit.mk: fragment, see HACKING.md
