#!/bin/bash
# unit_sandbox.sh UNIT CMD...: run CMD under the equivalents of the hardening
# options in systemd unit file UNIT, for hosts where systemd is not PID 1 (our
# test machines): what the tests prove about the unit is what the unit says,
# not a copy of it. Run as root, inside `ip netns exec` if wanted; execs CMD
# (same pid), so the caller can signal and wait for it.
#   ProtectSystem=full|yes     /usr, /boot (and /etc for full) bound read-only
#   ProtectHome=yes            empty tmpfs over /home, /root, /run/user
#   PrivateTmp=yes             empty tmpfs over /tmp and /var/tmp
#   ProtectKernelTunables=yes  /proc/sys and /sys bound read-only
#   NoNewPrivileges=yes        setpriv --no-new-privs
#   CapabilityBoundingSet=...  setpriv --bounding-set (root's caps = this set)
#   MemoryDenyWriteExecute=yes prctl(PR_SET_MDWE, REFUSE_EXEC_GAIN), inherited
#                              across exec (Linux >= 6.3; what systemd >= 255 uses)
# Other options in the unit (ProtectKernelModules, LockPersonality, ...)
# need systemd's seccomp filters and are not emulated.
set -euo pipefail
unit=$1; shift
opt() { sed -n "s/^$1=//p" "$unit" | tail -1; }

mounts=""
case $(opt ProtectSystem) in
  full) mounts+="mount --bind -o ro /usr /usr; mount --bind -o ro /etc /etc; " ;;
  yes|true) mounts+="mount --bind -o ro /usr /usr; " ;;
esac
[ "$(opt ProtectHome)" != yes ] || for d in /home /root /run/user; do
  [ -d "$d" ] && mounts+="mount -t tmpfs -o mode=0755 tmpfs $d; "
done
[ "$(opt PrivateTmp)" != yes ] || mounts+="mount -t tmpfs -o mode=1777 tmpfs /tmp; mount -t tmpfs -o mode=1777 tmpfs /var/tmp; "
[ "$(opt ProtectKernelTunables)" != yes ] || mounts+="mount --bind -o ro /proc/sys /proc/sys; mount --bind -o ro /sys /sys; "
[ -d /boot ] && [[ $(opt ProtectSystem) =~ ^(full|yes|true)$ ]] && mounts+="mount --bind -o ro /boot /boot; "

priv=(setpriv)
[ "$(opt NoNewPrivileges)" != yes ] || priv+=(--no-new-privs)
caps=$(opt CapabilityBoundingSet)
if [ -n "$caps" ]; then
  set_list="-all"
  for c in $caps; do set_list+=",+$(tr 'A-Z' 'a-z' <<<"${c#CAP_}")"; done
  priv+=(--bounding-set "$set_list")
fi
mdwe=()
if [ "$(opt MemoryDenyWriteExecute)" = yes ]; then
  mdwe=(python3 -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit("unit_sandbox: PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])')
fi
# shellcheck disable=SC2016  # $mounts is expanded by the inner shell on purpose
exec unshare -m --propagation private sh -c "$mounts"'exec "$@"' sandbox "${priv[@]}" "${mdwe[@]}" "$@"
