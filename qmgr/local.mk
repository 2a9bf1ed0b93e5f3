# qmgr
