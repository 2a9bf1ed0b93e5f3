# smtpd
