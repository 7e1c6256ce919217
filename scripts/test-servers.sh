#!/usr/bin/env bash
# Installs the real servers the tests start on loopback, from Debian's packages, when they are
# missing: nginx (HTTP/2 tests), tinyproxy, dante-server, microsocks, stunnel4 and squid (proxy tests),
# vsftpd (FTP tests), tftpd-hpa (TFTP tests), dictd and dictfmt (DICT tests), dovecot (POP3 and IMAP
# tests), mosquitto (MQTT tests), the openssl command (a TLS 1.2 server that asks to renegotiate), the curl tool (test_ntlm
# compares its NTLM requests), openssh-server (SFTP tests: sshd, and ssh-keygen for their keys).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=""
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || PKGS="$PKGS nginx-light"
for p in tinyproxy:tinyproxy danted:dante-server microsocks:microsocks stunnel4:stunnel4 squid:squid vsftpd:vsftpd in.tftpd:tftpd-hpa dictd:dictd dictfmt:dictfmt mosquitto:mosquitto openssl:openssl curl:curl sshd:openssh-server; do
  command -v "${p%%:*}" >/dev/null || [ -x "/usr/sbin/${p%%:*}" ] || [ -x "/usr/bin/${p%%:*}" ] || PKGS="$PKGS ${p#*:}"
done
[ -x /usr/lib/dovecot/imap ] || PKGS="$PKGS dovecot-imapd"
[ -x /usr/lib/dovecot/pop3 ] || PKGS="$PKGS dovecot-pop3d"
[ -z "$PKGS" ] && exit 0
echo "== installing test servers:$PKGS"
apt-get install -y -qq $PKGS >/dev/null || { apt-get update -qq && apt-get install -y -qq $PKGS >/dev/null; }
