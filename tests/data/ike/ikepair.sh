#!/bin/bash
# usage: ikepair.sh DIR PROPOSAL  -> DIR/ike.pcap, DIR/i/charon.log, DIR/r/charon.log
set -u
D=$1 PROP=$2
rm -rf $D; mkdir -p $D/i/run $D/r/run
for n in ikp-i ikp-r; do ip netns del $n 2>/dev/null; ip netns add $n; ip -n $n link set lo up; done
ip link add ikpi type veth peer name ikpr
ip link set ikpi netns ikp-i; ip link set ikpr netns ikp-r
ip -n ikp-i addr add 10.78.0.1/24 dev ikpi; ip -n ikp-i link set ikpi up
ip -n ikp-r addr add 10.78.0.2/24 dev ikpr; ip -n ikp-r link set ikpr up
for s in i r; do
cat > $D/$s/strongswan.conf <<EOF
charon {
  load = random nonce aes gcm sha1 sha2 hmac gmp openssl kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix://$D/$s/charon.vici } }
  filelog { f { path = $D/$s/charon.log
      time_format = %s
      default = 1
      ike = 4
      enc = 3 } }
}
EOF
done
cat > $D/i/swanctl.conf <<EOF
connections { site { remote_addrs = 10.78.0.2
    local_addrs = 10.78.0.1
    version = 2
    proposals = $PROP
    local { auth = psk
      id = site1.example }
    remote { auth = psk
      id = headend.example }
    children { lan { local_ts = 10.50.0.0/24
        remote_ts = 10.60.0.0/24
        esp_proposals = aes256-sha256 } } } }
secrets { ike-1 { id-1 = site1.example
    id-2 = headend.example
    secret = "test-psk-0123456789" } }
EOF
cat > $D/r/swanctl.conf <<EOF
connections { headend { local_addrs = 10.78.0.2
    version = 2
    proposals = $PROP
    local { auth = psk
      id = headend.example }
    remote { auth = psk
      id = site1.example }
    children { lan { local_ts = 10.60.0.0/24
        remote_ts = 10.50.0.0/24
        esp_proposals = aes256-sha256 } } } }
secrets { ike-1 { id-1 = site1.example
    id-2 = headend.example
    secret = "test-psk-0123456789" } }
EOF
ip netns exec ikp-r timeout 20 tcpdump -i ikpr -w $D/ike.pcap udp >/dev/null 2>&1 &
tpid=$!
sleep 1
for s in i r; do
  ip netns exec ikp-$s unshare -m sh -c "mount --bind $D/$s/run /run && STRONGSWAN_CONF=$D/$s/strongswan.conf exec /usr/lib/ipsec/charon" > $D/$s/charon.out 2>&1 &
done
for s in i r; do for k in $(seq 50); do [ -S $D/$s/charon.vici ] && break; sleep 0.2; done
  ip netns exec ikp-$s swanctl --load-all --file $D/$s/swanctl.conf --uri unix://$D/$s/charon.vici >/dev/null 2>&1; done
ip netns exec ikp-i timeout 10 swanctl --initiate --ike site --child lan --uri unix://$D/i/charon.vici 2>&1 | tail -2
sleep 1
kill $tpid; wait $tpid 2>/dev/null
pkill -f "$D/./strongswan.conf" ; pkill -f "STRONGSWAN_CONF=$D"; for p in $(pgrep -f /usr/lib/ipsec/charon); do kill $p; done
sleep 0.5
ip netns del ikp-i; ip netns del ikp-r
