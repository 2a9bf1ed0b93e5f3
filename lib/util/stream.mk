# lib/util/stream.mk: fragment, see HACKING.md
