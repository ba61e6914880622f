// Firewall: Ethernet/IP/UDP 64-byte frames through an 11-rule IPFilter
define($LIMIT 1000000)
InfiniteSource(DATA \<0000c0ae67ef0000c04f71ef08004500003200000000401166b80a0000010a01000204d20050001e000000000000000000000000000000000000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> Strip(14)
  -> CheckIPHeader
  -> IPFilter(deny src net 192.168.0.0/16,
              deny dst net 172.16.0.0/12,
              deny tcp dst port 23,
              deny udp dst port 161,
              allow tcp dst port 22,
              allow src host 10.0.0.99,
              deny icmp type echo,
              allow udp dst port 53,
              allow dst net 10.1.0.0/16 && udp && dst port 80,
              allow dst net 10.2.0.0/16,
              deny all)
  -> c :: Counter
  -> Discard;
