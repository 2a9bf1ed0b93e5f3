# lib/mail/smtp.mk: the SMTP grammar (commands, parameters, xtext) and
# the catalogue of server replies.
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/smtp_cmd.c lib/mail/smtp_cmd.h \
	lib/mail/smtp_reply.h
